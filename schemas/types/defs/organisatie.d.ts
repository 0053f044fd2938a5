import type { Adres } from './adres.js';
import type { Bsn } from './bsn.js';
import type { BsnIdentificator } from './partij-identificator.js';
import type { DigitaalAdres } from './digitaal-adres.js';
import type { KvkIdentificator } from './partij-identificator.js';
import type { PartijIdentificator } from './partij-identificator.js';
import type { Rsin } from './rsin.js';
import type { RsinIdentificator } from './partij-identificator.js';
import type { VestigingsnummerIdentificator } from './partij-identificator.js';

/**
 * A party that is an organisation, shaped like a VNG Klantinteracties `Partij` with `soortPartij` `organisatie`. `correspondentieadres` is the postal address, `bezoekadres` the visiting address.
 */
export interface Organisatie {
  /**
   * Kind of party: always `organisatie`.
   */
  soortPartij: 'organisatie';
  /**
   * Trade name (SIVI `HndlsnmOrg`).
   */
  naam: string;
  /**
   * Identifiers in the Handelsregister: RSIN, KvK number, vestigingsnummer.
   *
   * @maxItems 10
   */
  partijIdentificatoren?: PartijIdentificator[];
  /**
   * E-mail addresses and phone numbers.
   *
   * @maxItems 10
   */
  digitaleAdressen?: DigitaalAdres[];
  /**
   * Preferred language, ISO 639-2/B (`nld`, `eng`).
   */
  voorkeurstaal?: string;
  correspondentieadres?: Adres;
  bezoekadres?: Adres;
}
