/**
 * `instances import` refusals as the CLI trial met them: a header or YAML syntax error is not something --partial
 * fixes (and says nothing about which instances are missing); invalid rows are named before duplicates; a dry run
 * exits 1 when the real import would be refused.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { withCli } from '../helpers/cli.js';

describe('whalefall instances import: what is wrong and what would help', () => {
  it('header and syntax errors, invalid rows, duplicates, dry runs', () =>
    withCli({ WHALEFALL_LANG: 'en' }, async (cli, dir) => {
      const file = (name: string, text: string) => {
        const p = path.join(dir, name);
        fs.writeFileSync(p, text);
        return p;
      };
      let r = await cli(['instances', 'add', '--name', 'pg-prod', '--type', 'postgresql', '--host', '127.0.0.1']);
      assert.equal(r.code, 0, r.err);

      const hdr = file('hdr.csv', 'name,db_type,host,colour\nx1,postgresql,127.0.0.3,red\n');
      r = await cli(['instances', 'import', hdr, '--partial']);
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: 1 error in the file's header or syntax: nothing imported \(fix the file; --partial only skips invalid rows\)/);
      assert.match(r.out, /the file cannot be imported as it is \(1 error in its header or syntax, above\)/);
      assert.doesNotMatch(r.out, /0 invalid|NOT created/);

      const yaml = file('broken.yaml', '- name: x1\n  db_type: postgresql\n  host: [127.0.0.3\n');
      r = await cli(['instances', 'import', yaml, '--partial']);
      assert.equal(r.code, 1);
      assert.match(r.err, /header or syntax: nothing imported \(fix the file/);
      assert.doesNotMatch(r.out, /missing \(use --disable-missing/, 'an unreadable file lists no registered instance as missing');
      r = await cli(['instances', 'import', yaml, '--json']);
      assert.deepEqual((JSON.parse(r.out) as { missing: string[] }).missing, []);

      // Two invalid rows and one for the server pg-prod already is: the invalid rows are the reason given.
      const rows = file('rows.csv', 'name,db_type,host,port\nbad1,postgresql,127.0.0.4,99999\nbad2,nosuch,127.0.0.5,1\ndup,postgresql,127.0.0.1,5432\n');
      r = await cli(['instances', 'import', rows]);
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: 2 invalid rows: nothing imported \(fix them, or use --partial to store the valid rows\)/);
      r = await cli(['instances', 'import', rows, '--dry-run']);
      assert.equal(r.code, 1, 'a dry run of an import that would be refused exits 1');
      assert.match(r.err, /^whalefall: dry run: the import would be refused: 2 invalid rows/);
      r = await cli(['instances', 'import', rows, '--partial']);
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: 1 row for servers already registered: nothing imported/);

      const good = file('good.csv', 'name,db_type,host\nnew1,postgresql,127.0.0.6\npg-prod,postgresql,127.0.0.1\n');
      r = await cli(['instances', 'import', good, '--dry-run']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /2 rows, 0 invalid: 1 would be created/);
      const list = JSON.parse((await cli(['instances', 'list', '--json'])).out) as unknown[];
      assert.equal(list.length, 1, 'nothing stored by any of these');
    }));
});
