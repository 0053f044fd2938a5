import type { Adres } from './defs/adres.js';
import type { Bsn } from './defs/bsn.js';
import type { BsnIdentificator } from './defs/partij-identificator.js';
import type { Contactnaam } from './defs/contactnaam.js';
import type { DigitaalAdres } from './defs/digitaal-adres.js';
import type { KvkIdentificator } from './defs/partij-identificator.js';
import type { Onderwerpobject } from './defs/onderwerpobject.js';
import type { Organisatie } from './defs/organisatie.js';
import type { Partij } from './defs/partij.js';
import type { PartijIdentificator } from './defs/partij-identificator.js';
import type { Persoon } from './defs/persoon.js';
import type { Rsin } from './defs/rsin.js';
import type { RsinIdentificator } from './defs/partij-identificator.js';
import type { VestigingsnummerIdentificator } from './defs/partij-identificator.js';

/**
 * A customer contact took place and was recorded (VNG Klantinteracties `Klantcontact` with its betrokkenen, onderwerpobjecten and interne taken, as `/maak-klantcontact` creates them).
 */
export interface KlantcontactGeregistreerd {
  /**
   * Reference number of the contact in the sending system.
   */
  referentienummer?: string;
  /**
   * Channel, e.g. `telefoon`, `e-mail`, `balie`.
   */
  kanaal: string;
  /**
   * Subject of the contact.
   */
  onderwerp: string;
  /**
   * What was discussed.
   */
  inhoud?: string;
  /**
   * Language of the contact, ISO 639-2/B (`nld`).
   */
  taal: string;
  /**
   * Whether the contact is confidential.
   */
  vertrouwelijk: boolean;
  /**
   * When the contact took place.
   */
  plaatsgevondenOp: string;
  /**
   * Whether contact was actually made.
   */
  indicatieContactGelukt?: boolean;
  /**
   * The parties involved in the contact.
   *
   * @minItems 1
   * @maxItems 20
   */
  betrokkenen: [Betrokkene, ...Betrokkene[]];
  /**
   * What the contact was about, e.g. a zaak.
   *
   * @maxItems 20
   */
  onderwerpobjecten?: Onderwerpobject[];
  /**
   * Follow-up tasks created from the contact.
   *
   * @maxItems 20
   */
  interneTaken?: InterneTaak[];
}
/**
 * A party involved in the contact (VNG Klantinteracties `Betrokkene`).
 */
export interface Betrokkene {
  partij: Partij;
  /**
   * Role in the contact.
   */
  rol: 'klant' | 'vertegenwoordiger';
  /**
   * Whether this party started the contact.
   */
  initiator: boolean;
}
/**
 * A follow-up task (VNG Klantinteracties `InterneTaak`).
 */
export interface InterneTaak {
  /**
   * What must be done.
   */
  gevraagdeHandeling: string;
  /**
   * Explanation.
   */
  toelichting?: string;
  /**
   * Whether the task is still open.
   */
  status: 'te_verwerken' | 'verwerkt';
}
