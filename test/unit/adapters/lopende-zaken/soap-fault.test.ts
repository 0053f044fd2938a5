import assert from 'node:assert/strict';
import { classifySoap, type SoapExchange } from '../../../../adapters/lopende-zaken/soap-fault.ts';

const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const envelope = (body: string): string =>
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
const fault = (faultcode: string, faultstring: string, detail = ''): SoapExchange => ({
  kind: 'response',
  status: 500,
  body: envelope(
    `<soap:Fault><faultcode>${faultcode}</faultcode><faultstring>${faultstring}</faultstring>${detail ? `<detail>${detail}</detail>` : ''}</soap:Fault>`,
  ),
});
const fo03 = (faultcode: string, code: string, plek: string, omschrijving: string): SoapExchange =>
  fault(
    faultcode,
    'Fo03',
    `<StUF:Fo03Bericht xmlns:StUF="http://www.egem.nl/StUF/StUF0301"><StUF:stuurgegevens><StUF:berichtcode>Fo03</StUF:berichtcode></StUF:stuurgegevens>` +
      `<StUF:body><StUF:code>${code}</StUF:code><StUF:plek>${plek}</StUF:plek><StUF:omschrijving>${omschrijving}</StUF:omschrijving></StUF:body></StUF:Fo03Bericht>`,
  );
const shared = 'xmlns:q="http://schemas.rdw.nl/GEB/Shared/Types/2009/01"';

const cases: ReadonlyArray<readonly [string, SoapExchange, 'ok' | 'transient' | 'rejected', string?]> = [
  [
    'Bv03 delivered',
    {
      kind: 'response',
      status: 200,
      body: envelope(
        '<StUF:Bv03Bericht xmlns:StUF="http://www.egem.nl/StUF/StUF0301"><StUF:stuurgegevens/></StUF:Bv03Bericht>',
      ),
    },
    'ok',
  ],
  [
    'connection refused',
    { kind: 'failure', failure: 'connection', message: 'ECONNREFUSED' },
    'transient',
    'connection',
  ],
  ['timeout', { kind: 'failure', failure: 'timeout', message: 'after 30000 ms' }, 'transient', 'timeout'],
  [
    'HTTP 503 without fault',
    { kind: 'response', status: 503, body: '<html>busy</html>' },
    'transient',
    'http:503',
  ],
  ['HTTP 502 with empty body', { kind: 'response', status: 502, body: '' }, 'transient', 'http:502'],
  ['HTTP 429 without fault', { kind: 'response', status: 429, body: '' }, 'transient', 'http:429'],
  ['HTTP 404 without fault', { kind: 'response', status: 404, body: 'not found' }, 'rejected', 'http:404'],
  [
    '200 without the expected element',
    { kind: 'response', status: 200, body: envelope('<x:Other xmlns:x="urn:x"/>') },
    'rejected',
    'unexpected-answer',
  ],
  ['200 that is no XML', { kind: 'response', status: 200, body: 'ok' }, 'rejected', 'unexpected-answer'],
  ['soap:Server fault', fault('soap:Server', 'Internal error'), 'transient', 'soap:Server'],
  ['SOAP 1.2-style Receiver code in 1.1 fault', fault('env:Receiver', 'busy'), 'transient', 'soap:Receiver'],
  ['soap:Client fault', fault('soap:Client', 'Bad request'), 'rejected', 'soap:Client'],
  [
    'Client.Authentication subcode',
    fault('soap:Client.Authentication', 'who are you'),
    'rejected',
    'soap:Client.Authentication',
  ],
  ['VersionMismatch', fault('soap:VersionMismatch', 'SOAP 1.2 expected'), 'rejected', 'soap:VersionMismatch'],
  [
    'Digikoppeling 0051 in a Client fault is still transient',
    fault('soap:Client', '0051: Service niet beschikbaar'),
    'transient',
    'digikoppeling:0051',
  ],
  [
    'Digikoppeling DK0051 in a Server fault',
    fault('soap:Server', 'DK0051'),
    'transient',
    'digikoppeling:0051',
  ],
  [
    'Digikoppeling 0051 in the detail',
    fault('soap:Server', 'unavailable', '<code>0051</code>'),
    'transient',
    'digikoppeling:0051',
  ],
  [
    'Digikoppeling 0001 invalid envelope',
    fault('soap:Client', '0001 Invalide soap envelope'),
    'rejected',
    'digikoppeling:0001',
  ],
  [
    'Digikoppeling 0002 not authorised, even as Server fault',
    fault('soap:Server', '0002 Niet geautoriseerd'),
    'rejected',
    'digikoppeling:0002',
  ],
  [
    'Digikoppeling 0004 not valid against the XSD',
    fault('soap:Client', '0004 Niet conform xsd'),
    'rejected',
    'digikoppeling:0004',
  ],
  [
    'Digikoppeling 0005 To missing',
    fault('soap:Client', '0005 WS-Addressing header To ontbreekt'),
    'rejected',
    'digikoppeling:0005',
  ],
  [
    'Digikoppeling 0011 wrong header value',
    fault('soap:Client', '0011 Header andere waarde dan voorgeschreven'),
    'rejected',
    'digikoppeling:0011',
  ],
  [
    'a number that is no Digikoppeling code',
    fault('soap:Server', 'error 00123 in module 0052'),
    'transient',
    'soap:Server',
  ],
  [
    'StUF Fo03 in a Server fault',
    fo03('soap:Server', 'StUF058', 'server', 'Proces voor afhandelen bericht geeft fout'),
    'rejected',
    'stuf:StUF058',
  ],
  [
    'StUF Fo03 in a Client fault',
    fo03('soap:Client', 'StUF055', 'client', 'Ontvangen bericht bevat fouten'),
    'rejected',
    'stuf:StUF055',
  ],
  [
    'StUF Fo03 plek server: service niet beschikbaar',
    fo03('soap:Server', 'StUF058', 'server', 'Service niet beschikbaar'),
    'transient',
    'stuf:StUF058',
  ],
  [
    'StUF Fo03 plek client saying unavailable stays rejected',
    fo03('soap:Client', 'StUF058', 'client', 'Service niet beschikbaar'),
    'rejected',
    'stuf:StUF058',
  ],
  [
    'Fo03 as a 200 body',
    {
      kind: 'response',
      status: 200,
      body: envelope(
        '<StUF:Fo03Bericht xmlns:StUF="http://www.egem.nl/StUF/StUF0301"><StUF:body><StUF:code>StUF055</StUF:code><StUF:plek>client</StUF:plek><StUF:omschrijving>fout</StUF:omschrijving></StUF:body></StUF:Fo03Bericht>',
      ),
    },
    'rejected',
    'stuf:StUF055',
  ],
  [
    'Berichtenbox DependentServiceFault',
    fault(
      's:Server',
      'dependent',
      `<q:DependentServiceFault ${shared}><q:Message>BRP down</q:Message></q:DependentServiceFault>`,
    ),
    'transient',
    'DependentServiceFault',
  ],
  [
    'Berichtenbox DependentServiceFault in a Client fault',
    fault(
      's:Client',
      'dependent',
      `<q:DependentServiceFault ${shared}><q:Message>x</q:Message></q:DependentServiceFault>`,
    ),
    'transient',
    'DependentServiceFault',
  ],
  [
    'Berichtenbox ApplicationFault',
    fault(
      's:Server',
      'application',
      `<q:ApplicationFault ${shared}><q:Message>onbekende berichtleverancier</q:Message></q:ApplicationFault>`,
    ),
    'rejected',
    'ApplicationFault',
  ],
];

describe('lopende-zaken soap-fault classifier', () => {
  for (const [name, exchange, kind, code] of cases) {
    it(`${name} → ${kind}${code ? ` (${code})` : ''}`, () => {
      const verdict = classifySoap(exchange, 'Bv03Bericht');
      assert.equal(verdict.kind, kind);
      if (verdict.kind !== 'ok') assert.equal(verdict.code, code);
    });
  }

  it('keeps the partner message in the reason', () => {
    const verdict = classifySoap(
      fault(
        's:Server',
        'application',
        `<q:ApplicationFault ${shared}><q:Message>onbekende berichtleverancier</q:Message></q:ApplicationFault>`,
      ),
      'ValidateAbonnementenResponse',
    );
    assert.ok(verdict.kind === 'rejected' && verdict.reason.includes('onbekende berichtleverancier'));
  });
});
