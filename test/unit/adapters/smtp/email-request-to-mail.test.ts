import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  emailRequestToMail,
  type EmailRequest,
  type EmailRequestToMailContext,
} from '../../../../mappings/mail/email-request-to-mail.ts';
import { languageCandidates } from '../../../../mappings/mail/templates.ts';
import { renderPlaceholders } from '../../../../mappings/mail/render.ts';
import { loadTemplates } from '../../../../adapters/smtp/templates.ts';
import { createCanonicalValidator } from '../../../../gateway/ingest/canonical-validator.ts';

const GOLDEN = new URL('../../../../mappings/mail/golden/', import.meta.url).pathname;
const update = process.env.UPDATE_GOLDEN === '1';

// Until the shared runner (test/mappings.golden.test.ts) exists, the mail cases run here too.
describe('mappings/mail golden cases', () => {
  const cases = readdirSync(GOLDEN)
    .filter((f) => f.endsWith('.input.json'))
    .map((f) => f.slice(0, -'.input.json'.length));
  const validator = createCanonicalValidator();
  it('has cases', () => assert.ok(cases.length >= 8));
  for (const name of cases) {
    it(name, () => {
      const input = JSON.parse(readFileSync(join(GOLDEN, `${name}.input.json`), 'utf8')) as EmailRequest;
      const verdict = validator.validate({
        specversion: '1.0',
        id: name,
        source: 'urn:nld:oin:00000001234567890000:systeem:golden',
        type: 'nl.communicatie.email-verzocht',
        datacontenttype: 'application/json',
        data: input,
      });
      assert.ok(verdict.ok, `input is not schema-valid: ${JSON.stringify(verdict)}`);
      const context = JSON.parse(
        readFileSync(join(GOLDEN, `${name}.context.json`), 'utf8'),
      ) as EmailRequestToMailContext;
      const result = emailRequestToMail(input, context);
      const expectedFile = join(GOLDEN, `${name}.expected.json`);
      const unmappableFile = join(GOLDEN, `${name}.unmappable.txt`);
      if (update) {
        if (result.ok) writeFileSync(expectedFile, JSON.stringify(result.value, null, 2) + '\n');
        else writeFileSync(unmappableFile, result.unmappable + '\n');
      }
      if (existsSync(unmappableFile)) {
        assert.equal(result.ok, false, 'expected unmappable');
        if (!result.ok) assert.equal(result.unmappable, readFileSync(unmappableFile, 'utf8').trimEnd());
      } else {
        assert.ok(result.ok, result.ok ? '' : result.unmappable);
        assert.deepEqual(result.value, JSON.parse(readFileSync(expectedFile, 'utf8')));
      }
    });
  }
});

describe('mappings/mail templates and placeholders', () => {
  it('tries the tag, its primary language, then the default', () => {
    assert.deepEqual(languageCandidates('nl-BE', 'en-GB'), ['nl-be', 'nl', 'en-gb', 'en']);
    assert.deepEqual(languageCandidates('nld', 'nl-NL'), ['nl', 'nl-nl']);
  });

  it('escapes HTML only where asked and reports every missing variable', () => {
    const vars = { a: '<b>&"\'', n: 3, yes: true, nul: null, toString: undefined };
    assert.deepEqual(renderPlaceholders('{{a}} {{ n }} {{yes}}', vars, false), {
      text: '<b>&"\' 3 true',
      missing: [],
    });
    assert.equal(renderPlaceholders('{{a}}', vars, true).text, '&lt;b&gt;&amp;&quot;&#39;');
    assert.deepEqual(renderPlaceholders('{{nul}} {{absent}} {{constructor}} {{toString}}', vars, false), {
      text: '{{nul}} {{absent}} {{constructor}} {{toString}}',
      missing: ['nul', 'absent', 'constructor', 'toString'],
    });
  });

  it('renders the shipped sender-verification template in every language', async () => {
    const catalogue = await loadTemplates([]);
    assert.ok(Object.keys(catalogue).length >= 2);
    for (const language of Object.keys(catalogue)) {
      const result = emailRequestToMail(
        {
          aan: [{ adres: 'a@example.nl' }],
          afzenderId: 's',
          taal: language,
          sjabloon: {
            naam: 'sender-verification',
            variabelen: { naam: 'N', adres: 'a@example.nl', code: '123456', geldigMinuten: 15, server: 'S' },
          },
        },
        {
          messageId: 'm',
          sender: { name: 'N', address: 'a@example.nl' },
          defaultLanguage: 'nl-NL',
          templates: catalogue,
          maxAttachmentBytes: 0,
        },
      );
      assert.ok(result.ok, result.ok ? '' : result.unmappable);
      assert.equal(result.value.headers['Content-Language'], language);
      assert.match(result.value.subject, /123456/);
      assert.match(result.value.text ?? '', /123456/);
      assert.match(result.value.html ?? '', /123456/);
    }
  });
});
