import { XMLBuilder } from 'fast-xml-parser';
import { unmappable, type Mapped } from '../kit.ts';

/**
 * `nl.zaken.zaak-status-gezet` → StUF-ZKN 3.10 `ZKN:zakLk01` for MijnOverheid Lopende Zaken.
 *
 * The shape follows the two public Lopende Zaken senders (PROTOCOLS.md §2.2): the whole zaak with
 * its latest status, mutatiesoort/verwerkingssoort T, the initiator as NPS with `BG:authentiek`,
 * the dossier URL as extraElement `verwijzing`. Only what the ZakenMagazijn gave is sent: absent
 * optional fields are left out, never invented. A value that a valid canonical message can carry
 * but StUF cannot is never cut, because a cut value would be a different value: a zaak
 * identificatie under 5 or a voorvoegsel over 10 characters makes the message `unmappable`; a
 * zaaktype identificatie over 10 characters (ZGW allows 50, `ZKN:Code` 10) is left out of
 * `zkt.code`, because the zaaktype stays recognisable by `zkt.omschrijving` and the citizen should
 * not miss the status for it.
 *
 * Times are written as Dutch local time (Europe/Amsterdam), as StUF expects. `isEindstatus` has no
 * StUF element of its own: a closed zaak shows through `einddatum` and `resultaat`. `statustekst`
 * is not part of the Lopende Zaken message shape and is not sent.
 */

/** `data` of `nl.zaken.zaak-status-gezet` (schemas/canonical/zaak-status-gezet.schema.json). */
export interface ZaakStatusGezet {
  readonly zaak: {
    readonly identificatie: string;
    readonly bronorganisatie: string;
    readonly omschrijving: string;
    readonly toelichting?: string;
    readonly zaaktype: { readonly identificatie: string; readonly omschrijving: string };
    readonly startdatum: string;
    readonly einddatumGepland?: string;
    readonly einddatum?: string;
    readonly resultaat?: { readonly omschrijving: string };
    readonly verwijzing?: string;
    readonly initiator: Initiator;
  };
  readonly status: {
    readonly statustype: {
      readonly omschrijving: string;
      readonly volgnummer: number;
      readonly isEindstatus: boolean;
      readonly informeren: boolean;
      readonly statustekst?: string;
    };
    readonly datumStatusGezet: string;
    readonly statustoelichting?: string;
  };
}

export interface Initiator {
  readonly bsn: string;
  readonly authentiek: boolean;
  readonly voorletters?: string;
  readonly voornamen?: string;
  readonly voorvoegselGeslachtsnaam?: string;
  readonly geslachtsnaam: string;
  readonly geslachtsaanduiding?: 'm' | 'v' | 'o';
  readonly geboortedatum?: string;
}

/** A StUF `Systeem`: organisatie (an OIN), applicatie, administratie. */
export interface StufSysteem {
  readonly organisatie: string;
  readonly applicatie: string;
  readonly administratie?: string;
}

export interface ZakLk01Context {
  /** Stable per delivery, so that a resend is recognisable (StUF `Refnummer`, ≤ 40). */
  readonly referentienummer: string;
  /** The attempt's time, ISO 8601. */
  readonly tijdstipBericht: string;
  readonly zender: StufSysteem;
  /** Defaults to Logius' MijnOverheid Lopende Zaken. */
  readonly ontvanger?: StufSysteem;
}

export type ZakLk01Mapped = Mapped<string>;

export const LOPENDE_ZAKEN_ONTVANGER: StufSysteem = {
  organisatie: '00000004003214345001',
  applicatie: 'MijnOverheid',
  administratie: 'Lopende zaken',
};

const NS = {
  'xmlns:ZKN': 'http://www.egem.nl/StUF/sector/zkn/0310',
  'xmlns:StUF': 'http://www.egem.nl/StUF/StUF0301',
  'xmlns:BG': 'http://www.egem.nl/StUF/sector/bg/0310',
  'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
};

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  suppressBooleanAttributes: false,
});

const ZKN_CODE_MAX = 10;

class Unmappable extends Error {}

export function caseStatusChangeToZaakLk01(input: ZaakStatusGezet, ctx: ZakLk01Context): ZakLk01Mapped {
  try {
    return {
      ok: true,
      value: builder.build({ 'ZKN:zakLk01': { ...attrs(NS), ...message(input, ctx) } }).trimEnd(),
    };
  } catch (error) {
    if (error instanceof Unmappable) return unmappable(error.message);
    throw error;
  }
}

function message(input: ZaakStatusGezet, ctx: ZakLk01Context): Record<string, unknown> {
  const { zaak, status } = input;
  if (zaak.identificatie.length < 5 || zaak.identificatie.length > 40)
    throw new Unmappable('zaak-identificatie-length');
  if (ctx.referentienummer.length > 40) throw new Unmappable('referentienummer-length');

  const einddatum = optionalDate(zaak.einddatum, 'zaak-einddatum');
  return {
    'ZKN:stuurgegevens': {
      'StUF:berichtcode': 'Lk01',
      'StUF:zender': systeem(ctx.zender),
      'StUF:ontvanger': systeem(ctx.ontvanger ?? LOPENDE_ZAKEN_ONTVANGER),
      'StUF:referentienummer': ctx.referentienummer,
      'StUF:tijdstipBericht': tijdstip(ctx.tijdstipBericht, 'tijdstip-bericht', true),
      'StUF:entiteittype': 'ZAK',
    },
    'ZKN:parameters': { 'StUF:mutatiesoort': 'T', 'StUF:indicatorOvername': 'V' },
    'ZKN:object': {
      ...attrs({
        'StUF:entiteittype': 'ZAK',
        'StUF:verwerkingssoort': 'T',
        'StUF:sleutelVerzendend': zaak.identificatie,
      }),
      'ZKN:identificatie': zaak.identificatie,
      'ZKN:omschrijving': zaak.omschrijving,
      'ZKN:toelichting': zaak.toelichting,
      'ZKN:resultaat':
        zaak.resultaat === undefined ? undefined : { 'ZKN:omschrijving': zaak.resultaat.omschrijving },
      'ZKN:startdatum': datum(zaak.startdatum, 'zaak-startdatum'),
      'ZKN:einddatumGepland': optionalDate(zaak.einddatumGepland, 'zaak-einddatum-gepland'),
      'ZKN:einddatum': einddatum ?? attrs({ 'xsi:nil': 'true', 'StUF:noValue': 'geenWaarde' }),
      'StUF:extraElementen':
        zaak.verwijzing === undefined
          ? undefined
          : { 'StUF:extraElement': { ...attrs({ naam: 'verwijzing' }), '#text': zaak.verwijzing } },
      'ZKN:isVan': attrs({
        'StUF:entiteittype': 'ZAKZKT',
        'StUF:verwerkingssoort': 'T',
        'xsi:nil': 'true',
        'StUF:noValue': 'waardeOnbekend',
      }),
      'ZKN:heeftAlsInitiator': {
        ...attrs({ 'StUF:entiteittype': 'ZAKBTRINI', 'StUF:verwerkingssoort': 'T' }),
        'ZKN:gerelateerde': { 'ZKN:natuurlijkPersoon': natuurlijkPersoon(zaak.initiator) },
        'ZKN:omschrijving': 'Initiator',
      },
      'ZKN:heeft': {
        ...attrs({ 'StUF:entiteittype': 'ZAKSTT', 'StUF:verwerkingssoort': 'T' }),
        'ZKN:gerelateerde': {
          ...attrs({ 'StUF:entiteittype': 'STT', 'StUF:verwerkingssoort': 'I' }),
          'ZKN:zkt.code':
            zaak.zaaktype.identificatie.length <= ZKN_CODE_MAX ? zaak.zaaktype.identificatie : undefined,
          'ZKN:zkt.omschrijving': zaak.zaaktype.omschrijving,
          'ZKN:volgnummer': String(status.statustype.volgnummer),
          'ZKN:omschrijving': status.statustype.omschrijving,
        },
        'ZKN:toelichting': status.statustoelichting,
        'ZKN:datumStatusGezet': tijdstip(status.datumStatusGezet, 'datum-status-gezet', false),
      },
    },
  };
}

function natuurlijkPersoon(initiator: Initiator): Record<string, unknown> {
  return {
    ...attrs({ 'StUF:entiteittype': 'NPS', 'StUF:verwerkingssoort': 'I' }),
    'BG:inp.bsn': initiator.bsn,
    'BG:authentiek': { ...attrs({ 'StUF:metagegeven': 'true' }), '#text': initiator.authentiek ? 'J' : 'N' },
    'BG:geslachtsnaam': initiator.geslachtsnaam,
    'BG:voorvoegselGeslachtsnaam': optionalLimited(
      initiator.voorvoegselGeslachtsnaam,
      10,
      'initiator-voorvoegsel',
    ),
    'BG:voorletters': initiator.voorletters,
    'BG:voornamen': initiator.voornamen,
    'BG:geslachtsaanduiding': initiator.geslachtsaanduiding?.toUpperCase(),
    'BG:geboortedatum': optionalDate(initiator.geboortedatum, 'initiator-geboortedatum'),
  };
}

function systeem(value: StufSysteem): Record<string, unknown> {
  return {
    'StUF:organisatie': value.organisatie,
    'StUF:applicatie': value.applicatie,
    'StUF:administratie': value.administratie,
  };
}

function attrs(values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [`@${name}`, value]));
}

function limited(value: string, max: number, field: string): string {
  if (value.length > max) throw new Unmappable(`${field}-too-long`);
  return value;
}

function optionalLimited(value: string | undefined, max: number, field: string): string | undefined {
  return value === undefined ? undefined : limited(value, max, field);
}

function datum(value: string, field: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) throw new Unmappable(`${field}-not-a-date`);
  return `${match[1]}${match[2]}${match[3]}`;
}

function optionalDate(value: string | undefined, field: string): string | undefined {
  return value === undefined ? undefined : datum(value, field);
}

const amsterdam = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Amsterdam',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** `YYYYMMDDhhmmss` (or with `fff`) in Dutch local time. */
function tijdstip(iso: string, field: string, withMillis: boolean): string {
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime()) || !/T/.test(iso)) throw new Unmappable(`${field}-not-a-date-time`);
  const parts = amsterdam.formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? '';
  const base = `${part('year')}${part('month')}${part('day')}${part('hour')}${part('minute')}${part('second')}`;
  return withMillis ? `${base}${String(instant.getUTCMilliseconds()).padStart(3, '0')}` : base;
}
