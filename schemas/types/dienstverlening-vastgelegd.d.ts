import type { Adres } from './defs/adres.js';
import type { Bsn } from './defs/bsn.js';
import type { BsnIdentificator } from './defs/partij-identificator.js';
import type { DigitaalAdres } from './defs/digitaal-adres.js';
import type { KvkIdentificator } from './defs/partij-identificator.js';
import type { Organisatie } from './defs/organisatie.js';
import type { PartijIdentificator } from './defs/partij-identificator.js';
import type { Periode } from './defs/periode.js';
import type { Rsin } from './defs/rsin.js';
import type { RsinIdentificator } from './defs/partij-identificator.js';
import type { SoortMutatie } from './defs/soort-mutatie.js';
import type { VestigingsnummerIdentificator } from './defs/partij-identificator.js';
import type { Werkgever } from './defs/werkgever.js';
import type { WerkgeverId } from './defs/werkgever-id.js';

/**
 * Reference record for datastreams: a service agreement between the occupational health service and an employer (which services, from when) was recorded, changed or removed.
 */
export interface DienstverleningVastgelegd {
  soortMutatie: SoortMutatie;
  /**
   * Id of the service agreement.
   */
  dienstverleningId: string;
  /**
   * Contract number known to the employer.
   */
  contractnummer?: string;
  werkgever: Werkgever;
  /**
   * The service package.
   */
  product: {
    /**
     * Product code.
     */
    code: string;
    /**
     * Product name.
     */
    omschrijving: string;
  };
  periode: Periode;
}
