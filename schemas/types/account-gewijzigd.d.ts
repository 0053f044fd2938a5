import type { Adres } from './defs/adres.js';
import type { Bsn } from './defs/bsn.js';
import type { BsnIdentificator } from './defs/partij-identificator.js';
import type { Contactnaam } from './defs/contactnaam.js';
import type { DigitaalAdres } from './defs/digitaal-adres.js';
import type { KvkIdentificator } from './defs/partij-identificator.js';
import type { PartijIdentificator } from './defs/partij-identificator.js';
import type { Persoon } from './defs/persoon.js';
import type { Rsin } from './defs/rsin.js';
import type { RsinIdentificator } from './defs/partij-identificator.js';
import type { VestigingsnummerIdentificator } from './defs/partij-identificator.js';
import type { WerkgeverId } from './defs/werkgever-id.js';

/**
 * A user account in the sending system (e.g. an employer's or employee's portal account) was created, changed, blocked or removed, so that connected systems can follow.
 */
export interface AccountGewijzigd {
  /**
   * Id of the account in the sending system.
   */
  accountId: string;
  /**
   * What happened to the account.
   */
  soortWijziging: 'aangemaakt' | 'gewijzigd' | 'geblokkeerd' | 'gedeblokkeerd' | 'verwijderd';
  /**
   * When the change took effect.
   */
  gewijzigdOp: string;
  /**
   * Whether the account can log in after the change.
   */
  actief: boolean;
  /**
   * Login name.
   */
  gebruikersnaam?: string;
  partij?: Persoon;
  /**
   * Roles of the account after the change.
   *
   * @maxItems 50
   */
  rollen?: string[];
  werkgeverId?: WerkgeverId;
  /**
   * The employee the account belongs to, when it is an employee's account.
   */
  werknemerId?: string;
}
