import type { Adres } from './adres.js';
import type { Bsn } from './bsn.js';
import type { BsnIdentificator } from './partij-identificator.js';
import type { Contactnaam } from './contactnaam.js';
import type { Dienstverband } from './dienstverband.js';
import type { DigitaalAdres } from './digitaal-adres.js';
import type { KvkIdentificator } from './partij-identificator.js';
import type { Organisatie } from './organisatie.js';
import type { PartijIdentificator } from './partij-identificator.js';
import type { Persoon } from './persoon.js';
import type { Rsin } from './rsin.js';
import type { RsinIdentificator } from './partij-identificator.js';
import type { VestigingsnummerIdentificator } from './partij-identificator.js';
import type { Werkgever } from './werkgever.js';
import type { WerkgeverId } from './werkgever-id.js';

/**
 * An employee (`partij`, a person; the BSN is optional and only sent to partners allowed to receive it) with the employment contract concerned and its employer (SIVI `Wrknmr` within `Wrkgvr`). `werkgever.werkgeverId` decides which API accounts see the message.
 */
export interface Werknemer {
  /**
   * Id of the employee in the sending system (SIVI `IdWrknmr`).
   */
  werknemerId: string;
  partij: Persoon;
  dienstverband: Dienstverband;
  werkgever: Werkgever;
}
