"""A DingTalk + Feishu robot stand-in that checks signatures exactly as the
robots' documentation specifies (the documentation's own Python algorithm),
and answers as the robots do. Usage: receiver.py DINGTALK_SECRET FEISHU_SECRET
Prints the port, then one JSON line per request on stdout."""
import base64, hashlib, hmac, json, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

DING_SECRET, FEISHU_SECRET = sys.argv[1], sys.argv[2]


def ding_sign(timestamp, secret):
    # DingTalk: string_to_sign = timestamp + "\n" + secret, HMAC-SHA256 keyed by the secret, Base64, then urlEncode (quote_plus).
    string_to_sign = '{}\n{}'.format(timestamp, secret)
    hmac_code = hmac.new(secret.encode('utf-8'), string_to_sign.encode('utf-8'), digestmod=hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(hmac_code))


def feishu_sign(timestamp, secret):
    # Feishu: key = timestamp + "\n" + secret, HMAC-SHA256 of an EMPTY message, Base64.
    key = '{}\n{}'.format(timestamp, secret)
    hmac_code = hmac.new(key.encode('utf-8'), ''.encode('utf-8'), digestmod=hashlib.sha256).digest()
    return base64.b64encode(hmac_code).decode('utf-8')


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, obj):
        data = json.dumps(obj).encode('utf-8')
        self.send_response(200)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['content-length'])).decode('utf-8'))
        path, _, query = self.path.partition('?')
        record = {'path': path, 'body': body, 'verified': False}
        if path == '/dingtalk':
            # The raw query parameters, as DingTalk reads them: sign is compared in its URL-encoded form.
            raw = dict(p.split('=', 1) for p in query.split('&') if '=' in p)
            ts = raw.get('timestamp', '')
            ok = ts.isdigit() and abs(int(ts) - time.time() * 1000) < 3600 * 1000 and raw.get('sign') == ding_sign(ts, DING_SECRET)
            record['verified'] = ok
            record['timestamp'] = ts
            text = json.dumps(body, ensure_ascii=False)
            if not ok:
                self.answer({'errcode': 310000, 'errmsg': 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]'})
            elif '鲸落' not in text:
                self.answer({'errcode': 310000, 'errmsg': 'keywords not in content'})
            else:
                self.answer({'errcode': 0, 'errmsg': 'ok'})
        else:
            ts = body.get('timestamp', '')
            ok = isinstance(ts, str) and ts.isdigit() and abs(int(ts) - time.time()) < 3600 and body.get('sign') == feishu_sign(ts, FEISHU_SECRET)
            record['verified'] = ok
            self.answer({'code': 0, 'msg': 'success', 'data': {}} if ok else {'code': 19021, 'msg': 'sign match fail or timestamp is not within one hour from current time', 'data': {}})
        print(json.dumps(record, ensure_ascii=False), flush=True)


server = HTTPServer(('127.0.0.1', 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
