import assert from 'node:assert/strict';
import { emailRequestToMail } from '../../../../mappings/mail/email-request-to-mail.ts';
import { languageCandidates } from '../../../../mappings/mail/templates.ts';
import { renderPlaceholders } from '../../../../mappings/mail/render.ts';
import { loadTemplates } from '../../../../adapters/smtp/templates.ts';

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
