import type { Adres } from './adres.js';
import type { Bsn } from './bsn.js';
import type { BsnIdentificator } from './partij-identificator.js';
import type { DigitaalAdres } from './digitaal-adres.js';
import type { KvkIdentificator } from './partij-identificator.js';
import type { Organisatie } from './organisatie.js';
import type { PartijIdentificator } from './partij-identificator.js';
import type { Rsin } from './rsin.js';
import type { RsinIdentificator } from './partij-identificator.js';
import type { VestigingsnummerIdentificator } from './partij-identificator.js';
import type { WerkgeverId } from './werkgever-id.js';

/**
 * An employer. `werkgeverId` is the employer's unique key: API accounts are authorised per werkgeverId, the Planningsagenda SSO link sends it as `WerkgeverID`, SIVI exports it as `IdWrkgvrArbdnst`.
 */
export interface Werkgever {
  werkgeverId: WerkgeverId;
  partij: Organisatie;
  /**
   * Loonheffingennummer (SIVI `Lhnr`), e.g. `123456789L01`.
   */
  loonheffingennummer?: string;
  /**
   * Connection number at the occupational health service (SIVI `AansltnrGeguitwlngArbdnst`).
   */
  aansluitnummer?: string;
}
