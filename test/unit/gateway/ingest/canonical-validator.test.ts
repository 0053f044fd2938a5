import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isValidBsn, isValidRsin } from '../../../../gateway/adapter-kit/bsn.ts';
import {
  createCanonicalValidator,
  type FieldError,
  type Verdict,
} from '../../../../gateway/ingest/canonical-validator.ts';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

const canonicalDir = fileURLToPath(new URL('../../../../schemas/canonical/', import.meta.url));
const examplesDir = `${canonicalDir}examples/`;

/** Examples are edited freely to make them invalid. */
type Json = Record<string, any>;

const exampleDirs = readdirSync(examplesDir).sort();
const examples = exampleDirs.flatMap((dir) =>
  readdirSync(`${examplesDir}${dir}`)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({ dir, name, path: `${dir}/${name}` })),
);

function example(path: string): Json {
  return JSON.parse(readFileSync(`${examplesDir}${path}`, 'utf8')) as Json;
}

function resolvePointer(document: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, token) => (node as Json | undefined)?.[token], document);
}

function rejected(verdict: Verdict, status: 400 | 422 = 400): FieldError[] {
  assert.equal(verdict.ok, false, 'expected the event to be rejected');
  if (verdict.ok) throw new Error('unreachable');
  assert.equal(verdict.status, status, JSON.stringify(verdict.errors));
  return verdict.errors;
}

describe('canonical validator', function () {
  const validator = createCanonicalValidator();

  describe('examples', function () {
    for (const { path, dir } of examples) {
      it(`accepts ${path}`, function () {
        const event = example(path);
        assert.equal(event.type, dir, 'an example lives in the folder named after its type');
        assert.deepEqual(validator.validate(event), { ok: true, type: dir });
      });
    }

    it('has at least one example for every type, and no folder for an unknown type', function () {
      assert.deepEqual(exampleDirs, [...validator.types]);
    });

    it('has a ziekmelding and a hersteldmelding example', function () {
      const kinds = examples
        .filter((e) => e.dir === 'nl.verzuim.verzuimmelding-gedaan')
        .map((e) => example(e.path).data.soortMelding as string);
      assert.ok(kinds.includes('ziekmelding') && kinds.includes('hersteldmelding'), kinds.join());
    });

    it('finds the employer id at the x-koppel-employer pointer in every example of an employer type', function () {
      for (const { path, dir } of examples) {
        const pointer = validator.employerPointer(dir);
        if (pointer === undefined) continue;
        const employer = resolvePointer(example(path), pointer);
        assert.equal(typeof employer, 'string', `${path}: ${pointer}`);
        assert.notEqual(employer, '');
      }
    });
  });

  describe('lookups', function () {
    it('lists every type once, sorted', function () {
      assert.ok(validator.types.includes('nl.zaken.zaak-status-gezet'));
      assert.ok(validator.types.includes('nl.verzuim.verzuimmelding-gedaan'));
      assert.deepEqual([...validator.types], [...new Set(validator.types)].sort());
    });

    it('returns the schema document of a type and undefined for an unknown type', function () {
      const schema = validator.schemaOf('nl.zaken.zaak-status-gezet') as Json;
      assert.equal(schema.$id, 'https://koppel.dev/schemas/canonical/zaak-status-gezet.schema.json');
      assert.equal(schema['x-koppel-type'], 'nl.zaken.zaak-status-gezet');
      assert.equal(validator.schemaOf('nl.zaken.onbekend'), undefined);
      assert.equal(
        (validator.schemaOf('envelope') as Json).$id,
        'https://koppel.dev/schemas/canonical/envelope.schema.json',
      );
      assert.ok(Object.isFrozen(schema), 'a caller cannot change what Ajv compiled');
    });

    it('returns the employer pointer of employer types only', function () {
      assert.equal(
        validator.employerPointer('nl.verzuim.verzuimmelding-gedaan'),
        '/data/werknemer/werkgever/werkgeverId',
      );
      assert.equal(validator.employerPointer('nl.verzuim.afspraak-gepland'), '/data/werknemer/werkgeverId');
      assert.equal(
        validator.employerPointer('nl.verzuim.dienstverlening-vastgelegd'),
        '/data/werkgever/werkgeverId',
      );
      assert.equal(validator.employerPointer('nl.zaken.zaak-status-gezet'), undefined);
      assert.equal(validator.employerPointer('nl.zaken.onbekend'), undefined);
    });
  });

  describe('envelope', function () {
    const ziek = (): Json => example('nl.verzuim.verzuimmelding-gedaan/ziekmelding.json');

    it('rejects a BSN as subject, pointing at /subject', function () {
      const event = ziek();
      event.subject = '999993653';
      assert.deepEqual(rejected(validator.validate(event)), [
        {
          pointer: '/subject',
          detail: 'must not be a BSN: context attributes may be logged, keep BSNs in data',
        },
      ]);
    });

    it('accepts a subject that merely contains digits', function () {
      const event = ziek();
      event.subject = 'VZ-999993653';
      assert.equal(validator.validate(event).ok, true);
    });

    it('rejects another specversion', function () {
      const event = ziek();
      event.specversion = '0.3';
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/specversion', detail: 'must be "1.0"' },
      ]);
    });

    it('rejects a source that is not a URN', function () {
      const event = ziek();
      event.source = 'https://hr.example.nl/verzuim';
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/source', detail: 'must be a URN such as urn:nld:oin:<OIN>:systeem:<naam>' },
      ]);
    });

    it('rejects data that is not an object, and a missing data', function () {
      const event = ziek();
      event.data = 'ziek';
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/data', detail: 'must be an object' },
      ]);
      delete event.data;
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/data', detail: "must have required property 'data'" },
      ]);
    });

    it('rejects a body that is not an object', function () {
      assert.deepEqual(rejected(validator.validate(null)), [{ pointer: '', detail: 'must be an object' }]);
      assert.deepEqual(rejected(validator.validate([])), [{ pointer: '', detail: 'must be an object' }]);
    });

    it('rejects a time without time zone', function () {
      const event = ziek();
      event.time = '2025-03-03T08:15:00';
      const [error] = rejected(validator.validate(event));
      assert.equal(error?.pointer, '/time');
      assert.match(error?.detail ?? '', /^must be a date-time with time zone/);
    });

    it('accepts extension attributes and rejects other members', function () {
      const event = ziek();
      event.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      event.sequence = 7;
      assert.equal(validator.validate(event).ok, true);
      event.data_base64 = 'e30=';
      event.extensionnametoolong1 = 'x';
      event.nested = { a: 1 };
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/data_base64', detail: "must NOT have additional property 'data_base64'" },
        {
          pointer: '/extensionnametoolong1',
          detail: "must NOT have additional property 'extensionnametoolong1'",
        },
        { pointer: '/nested', detail: 'must be a string, an integer or a boolean' },
      ]);
    });

    it('answers 422 for an unknown type in a valid envelope', function () {
      const event = ziek();
      event.type = 'nl.verzuim.verzuimmelding-onbekend';
      const [error, ...rest] = rejected(validator.validate(event), 422);
      assert.equal(error?.pointer, '/type');
      assert.match(error?.detail ?? '', /known message type/);
      assert.deepEqual(rest, []);
    });

    it('answers 400, not 422, when the envelope is invalid too', function () {
      const event = ziek();
      event.type = 'nl.verzuim.verzuimmelding-onbekend';
      event.specversion = '2.0';
      assert.deepEqual(rejected(validator.validate(event), 400), [
        { pointer: '/specversion', detail: 'must be "1.0"' },
      ]);
    });

    it('reports envelope and data errors in one answer', function () {
      const event = ziek();
      event.source = 'hr';
      delete event.data.werknemer;
      assert.deepEqual(
        rejected(validator.validate(event)).map((e) => e.pointer),
        ['/source', '/data/werknemer'],
      );
    });
  });

  describe('data', function () {
    it('rejects a BSN that fails the elfproef, pointing at the BSN', function () {
      const event = example('nl.verzuim.verzuimmelding-gedaan/ziekmelding.json');
      event.data.werknemer.partij.partijIdentificatoren[0].objectId = '999993654';
      assert.deepEqual(rejected(validator.validate(event)), [
        {
          pointer: '/data/werknemer/partij/partijIdentificatoren/0/objectId',
          detail: 'must be a valid BSN (elfproef)',
        },
      ]);
    });

    it('rejects a bad initiator BSN and a bad RSIN in a zaak', function () {
      const event = example('nl.zaken.zaak-status-gezet/status-in-behandeling.json');
      event.data.zaak.initiator.bsn = '12345678';
      event.data.zaak.bronorganisatie = '002220648';
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/data/zaak/bronorganisatie', detail: 'must be a valid RSIN (elfproef)' },
        { pointer: '/data/zaak/initiator/bsn', detail: 'must be a valid BSN (elfproef)' },
      ]);
    });

    it('points a missing required property at the property itself', function () {
      const event = example('nl.verzuim.verzuimmelding-gedaan/ziekmelding.json');
      delete event.data.werknemer;
      delete event.data.percentageVerzuim;
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/data/percentageVerzuim', detail: "must have required property 'percentageVerzuim'" },
        { pointer: '/data/werknemer', detail: "must have required property 'werknemer'" },
      ]);
    });

    it('points an additional property at the property itself', function () {
      const event = example('nl.zaken.zaak-status-gezet/status-in-behandeling.json');
      event.data.foo = 1;
      event.data.zaak.initiator['a/b'] = true;
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/data/foo', detail: "must NOT have additional property 'foo'" },
        { pointer: '/data/zaak/initiator/a~1b', detail: "must NOT have additional property 'a/b'" },
      ]);
    });

    it('requires datumHersteld in a hersteldmelding', function () {
      const event = example('nl.verzuim.verzuimmelding-gedaan/hersteldmelding.json');
      delete event.data.datumHersteld;
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/data/datumHersteld', detail: "must have required property 'datumHersteld'" },
      ]);
    });

    it('allows two decimals in percentageVerzuim, not three', function () {
      const event = example('nl.verzuim.verzuimmelding-gedaan/deelherstel.json');
      event.data.percentageVerzuim = 12.34;
      assert.equal(validator.validate(event).ok, true);
      event.data.percentageVerzuim = 12.345;
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/data/percentageVerzuim', detail: 'must have at most two decimals' },
      ]);
    });

    it('names the allowed values of an enum and of a party kind', function () {
      const event = example('nl.klantinteracties.klantcontact-geregistreerd/telefonisch-over-zaak.json');
      event.data.betrokkenen[0].rol = 'burger';
      event.data.betrokkenen[0].partij.soortPartij = 'robot';
      assert.deepEqual(rejected(validator.validate(event)), [
        {
          pointer: '/data/betrokkenen/0/partij/soortPartij',
          detail: 'must be one of the allowed values; "robot" is not',
        },
        { pointer: '/data/betrokkenen/0/rol', detail: 'must be one of "klant", "vertegenwoordiger"' },
      ]);
    });

    it('checks a party against its own kind only', function () {
      const event = example('nl.klantinteracties.klantcontact-geregistreerd/telefonisch-over-zaak.json');
      event.data.betrokkenen.push({
        partij: { soortPartij: 'organisatie' },
        rol: 'vertegenwoordiger',
        initiator: false,
      });
      assert.deepEqual(rejected(validator.validate(event)), [
        { pointer: '/data/betrokkenen/1/partij/naam', detail: "must have required property 'naam'" },
      ]);
    });

    it('wants either a template or a subject with a body in an e-mail request', function () {
      const both = example('nl.communicatie.email-verzocht/sjabloon.json');
      both.data.onderwerp = 'Bevestiging';
      assert.deepEqual(rejected(validator.validate(both)), [
        { pointer: '/data', detail: "must not have 'onderwerp', 'tekst' or 'html' together with 'sjabloon'" },
      ]);

      const noBody = example('nl.communicatie.email-verzocht/tekst-met-bijlage.json');
      delete noBody.data.tekst;
      delete noBody.data.html;
      assert.deepEqual(rejected(validator.validate(noBody)), [
        { pointer: '/data', detail: "must have 'tekst' and/or 'html' (or use 'sjabloon')" },
      ]);

      const neither = example('nl.communicatie.email-verzocht/sjabloon.json');
      delete neither.data.sjabloon;
      assert.deepEqual(rejected(validator.validate(neither)), [
        { pointer: '/data', detail: "must have 'tekst' and/or 'html' (or use 'sjabloon')" },
        { pointer: '/data/onderwerp', detail: "must have required property 'onderwerp'" },
      ]);
    });

    it('rejects an attachment that is not base64', function () {
      const event = example('nl.communicatie.email-verzocht/tekst-met-bijlage.json');
      event.data.bijlagen[0].inhoud = 'not base64!';
      const [error] = rejected(validator.validate(event));
      assert.equal(error?.pointer, '/data/bijlagen/0/inhoud');
    });

    it('wants voltooidOp in a completed appointment and the right status in a planned one', function () {
      const done = example('nl.verzuim.afspraak-voltooid/spreekuur-bedrijfsarts.json');
      delete done.data.voltooidOp;
      assert.deepEqual(rejected(validator.validate(done)), [
        { pointer: '/data/voltooidOp', detail: "must have required property 'voltooidOp'" },
      ]);
      const planned = example('nl.verzuim.afspraak-gepland/spreekuur-bedrijfsarts.json');
      planned.data.status = 'voltooid';
      assert.deepEqual(rejected(validator.validate(planned)), [
        { pointer: '/data/status', detail: 'must be "gepland"' },
      ]);
    });
  });
});

describe('served schemas (GET /v1/schemas/{type})', function () {
  const validator = createCanonicalValidator();

  for (const type of validator.types) {
    it(`${type} compiles alone and accepts its examples`, function () {
      // A developer's validator: nothing loaded but the served document and the formats it names.
      const fresh = new Ajv({
        strict: false,
        discriminator: true,
        allowUnionTypes: true,
        multipleOfPrecision: 9,
      });
      addFormats.default(fresh);
      fresh.addFormat('bsn', { type: 'string', validate: isValidBsn });
      fresh.addFormat('rsin', { type: 'string', validate: isValidRsin });
      const validate = fresh.compile(validator.schemaOf(type) as object);
      const own = examples.filter((e) => e.dir === type);
      assert.ok(own.length > 0);
      for (const { path } of own)
        assert.ok(validate(example(path).data), `${path}: ${JSON.stringify(validate.errors)}`);
    });
  }
});

describe('canonical schemas', function () {
  const files = [
    ...readdirSync(canonicalDir).filter((n) => n.endsWith('.schema.json')),
    ...readdirSync(`${canonicalDir}defs`)
      .filter((n) => n.endsWith('.schema.json'))
      .map((n) => `defs/${n}`),
  ].sort();

  it('describe every property (a $ref is described by its target)', function () {
    const missing: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Json;
      for (const [name, property] of Object.entries((schema.properties ?? {}) as Json)) {
        const p = property as Json;
        if (p.$ref === undefined && typeof p.description !== 'string')
          missing.push(`${at}/properties/${name}`);
      }
      // `if` and `not` hold conditions, not the properties of the message.
      for (const [key, child] of Object.entries(schema)) {
        if (key !== 'x-koppel-errors' && key !== 'if' && key !== 'not') walk(child, `${at}/${key}`);
      }
    };
    for (const file of files) walk(JSON.parse(readFileSync(`${canonicalDir}${file}`, 'utf8')), file);
    assert.deepEqual(missing, []);
  });

  it('give every type schema a title, a description and a CloudEvents type that ends its $id', function () {
    for (const file of files.filter((f) => !f.startsWith('defs/') && f !== 'envelope.schema.json')) {
      const schema = JSON.parse(readFileSync(`${canonicalDir}${file}`, 'utf8')) as Json;
      assert.equal(typeof schema.title, 'string', file);
      assert.equal(typeof schema.description, 'string', file);
      const type = schema['x-koppel-type'] as string;
      assert.match(type, /^nl\.[a-z]+\.[a-z0-9-]+(\.v[0-9]+)?$/, file);
      assert.equal(
        `${type.split('.').slice(2).join('.')}.schema.json`,
        file,
        'the file is named after the type',
      );
    }
  });
});

describe('isValidBsn / isValidRsin (elfproef)', function () {
  const table: ReadonlyArray<readonly [string, boolean, string]> = [
    ['999993653', true, 'test BSN'],
    ['999990019', true, 'test BSN'],
    ['123456782', true, 'the calaris example: sum 154 = 14 × 11'],
    ['111222333', true, 'sum 66 = 6 × 11'],
    ['010000021', true, 'an old 8-digit number with its leading zero'],
    ['10000021', false, 'the same number without the leading zero: 8 digits are not accepted'],
    ['12345678', false, '8 digits'],
    ['999993654', false, 'last digit changed'],
    ['123456789', false, 'fails the check'],
    ['000000000', false, 'all zeros (sum 0)'],
    ['1234567820', false, '10 digits'],
    ['99999365a', false, 'a letter'],
    ['abcdefghi', false, 'letters'],
    [' 99999365', false, 'a space'],
    ['９９９９９３６５３', false, 'full-width digits'],
    ['', false, 'empty'],
  ];
  for (const [text, valid, why] of table) {
    it(`${JSON.stringify(text)} is ${valid ? 'valid' : 'invalid'} (${why})`, function () {
      assert.equal(isValidBsn(text), valid);
      assert.equal(isValidRsin(text), valid);
    });
  }
});
