"""Reads CSV exports the way users do: Python's csv module, and LibreOffice
Calc (headless --convert-to xlsx, then the sheet XML). Prints one JSON object:
{file: {"header": [...], "python": {col: [values]}, "calc": {col: [cell types]}}}.
Usage: spreadsheet-read.py DIR (every *.csv in DIR)."""
import csv, glob, json, os, re, subprocess, sys, zipfile
import xml.etree.ElementTree as ET

d = sys.argv[1]
files = sorted(glob.glob(os.path.join(d, '*.csv')))
out = {}
for f in files:
    with open(f, encoding='utf-8-sig', newline='') as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    out[os.path.basename(f)] = {'header': header, 'python': {h: [r[i] for r in rows[1:]] for i, h in enumerate(header)}, 'calc': {}}

profile = 'file://' + os.path.join(d, 'lo-profile')
subprocess.run(['libreoffice', '-env:UserInstallation=' + profile, '--headless', '--infilter=CSV:44,34,76,1', '--convert-to', 'xlsx', '--outdir', d] + files,
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
NS = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}
for f in files:
    x = f[:-4] + '.xlsx'
    with zipfile.ZipFile(x) as z:
        shared = []
        if 'xl/sharedStrings.xml' in z.namelist():
            for si in ET.fromstring(z.read('xl/sharedStrings.xml')).findall('m:si', NS):
                shared.append(''.join(t.text or '' for t in si.iter('{%s}t' % NS['m'])))
        sheet = ET.fromstring(z.read('xl/worksheets/sheet1.xml'))
    header = out[os.path.basename(f)]['header']
    types = {h: [] for h in header}
    values = {h: [] for h in header}
    for r in sheet.findall('.//m:sheetData/m:row', NS)[1:]:
        cells = {re.sub(r'\d+', '', c.get('r')): c for c in r.findall('m:c', NS)}
        for i, h in enumerate(header):
            col = ''
            n = i + 1
            while n:
                n, rem = divmod(n - 1, 26)
                col = chr(65 + rem) + col
            c = cells.get(col)
            if c is None or c.find('m:v', NS) is None:
                types[h].append('empty')
                values[h].append('')
                continue
            t = c.get('t', 'n')
            v = c.find('m:v', NS).text
            types[h].append({'n': 'number', 's': 'string', 'str': 'string', 'inlineStr': 'string', 'b': 'boolean'}.get(t, t))
            values[h].append(shared[int(v)] if t == 's' else v)
    out[os.path.basename(f)]['calc'] = types
    out[os.path.basename(f)]['calc_values'] = values
print(json.dumps(out, ensure_ascii=False))
