import type { Adres } from './adres.js';
import type { Bsn } from './bsn.js';
import type { BsnIdentificator } from './partij-identificator.js';
import type { Contactnaam } from './contactnaam.js';
import type { DigitaalAdres } from './digitaal-adres.js';
import type { KvkIdentificator } from './partij-identificator.js';
import type { PartijIdentificator } from './partij-identificator.js';
import type { Rsin } from './rsin.js';
import type { RsinIdentificator } from './partij-identificator.js';
import type { VestigingsnummerIdentificator } from './partij-identificator.js';

/**
 * A party that is a natural person, shaped like a VNG Klantinteracties `Partij` with `soortPartij` `persoon`. A BSN, when known and allowed, is one of `partijIdentificatoren`. `correspondentieadres` is the postal address, `bezoekadres` the residential address.
 */
export interface Persoon {
  /**
   * Kind of party: always `persoon`.
   */
  soortPartij: 'persoon';
  /**
   * Identifiers in base registers; for a person at most one BSN (`natuurlijk_persoon`/`bsn`/`brp`).
   *
   * @maxItems 10
   */
  partijIdentificatoren?: PartijIdentificator[];
  contactnaam?: Contactnaam;
  /**
   * Date of birth.
   */
  geboortedatum?: string;
  /**
   * Gender as in ZGW: `m` man, `v` vrouw, `o` onbekend/overig.
   */
  geslachtsaanduiding?: 'm' | 'v' | 'o';
  /**
   * E-mail addresses and phone numbers.
   *
   * @maxItems 10
   */
  digitaleAdressen?: DigitaalAdres[];
  /**
   * Preferred language, ISO 639-2/B (`nld`, `eng`), as in VNG Klantinteracties.
   */
  voorkeurstaal?: string;
  correspondentieadres?: Adres;
  bezoekadres?: Adres;
}
