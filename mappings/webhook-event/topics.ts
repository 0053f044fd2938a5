/**
 * Webhook topics: the names receivers subscribe to, one per canonical message type
 * (`<Resource>.<Action>`, the style receivers know from other webhook APIs). A topic name is
 * public API: rename one only with a deprecation period. `nl.communicatie.email-verzocht` has no
 * topic on purpose: a mail request carries addresses and text meant for the mail server only, and
 * the webhooks adapter itself posts such requests (failure notices to admins).
 */
export const TOPICS = {
  'nl.accounts.account-gewijzigd': 'Accounts.Update',
  'nl.verzuim.verzuimmelding-gedaan': 'Absences.Create',
  'nl.verzuim.afspraak-gepland': 'Appointments.Create',
  'nl.verzuim.afspraak-voltooid': 'Appointments.Complete',
  'nl.verzuim.document-ontvangen': 'Documents.Create',
  'nl.zaken.zaak-status-gezet': 'Cases.StatusUpdate',
  'nl.klantinteracties.klantcontact-geregistreerd': 'CustomerContacts.Create',
  'nl.verzuim.beschikking-vastgelegd': 'Decisions.Create',
  'nl.verzuim.dienstverlening-vastgelegd': 'ServiceAgreements.Create',
  'nl.verzuim.polisdeelnemer-vastgelegd': 'PolicyParticipants.Create',
} as const satisfies Readonly<Record<string, string>>;

export type CanonicalTypeWithTopic = keyof typeof TOPICS;
export type Topic = (typeof TOPICS)[CanonicalTypeWithTopic];

const TYPE_BY_TOPIC: ReadonlyMap<string, CanonicalTypeWithTopic> = new Map(
  Object.entries(TOPICS).map(([type, topic]) => [topic, type as CanonicalTypeWithTopic]),
);

export function topicOf(type: string): Topic | undefined {
  return Object.hasOwn(TOPICS, type) ? TOPICS[type as CanonicalTypeWithTopic] : undefined;
}

export function typeOfTopic(topic: string): CanonicalTypeWithTopic | undefined {
  return TYPE_BY_TOPIC.get(topic);
}

export const ALL_TOPICS: readonly Topic[] = Object.values(TOPICS);
