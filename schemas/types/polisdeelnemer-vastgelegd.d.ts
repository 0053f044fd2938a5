import type { Periode } from './defs/periode.js';
import type { SoortMutatie } from './defs/soort-mutatie.js';
import type { WerkgeverId } from './defs/werkgever-id.js';
import type { WerknemerReferentie } from './defs/werknemer-referentie.js';

/**
 * Reference record for datastreams: an employee's participation in an insurance policy of the employer (e.g. an absence insurance) was recorded, changed or removed.
 */
export interface PolisdeelnemerVastgelegd {
  soortMutatie: SoortMutatie;
  /**
   * Number of the policy.
   */
  polisnummer: string;
  /**
   * Id of the participation in the sending system.
   */
  polisdeelnemerId?: string;
  /**
   * Name of the insurer.
   */
  verzekeraar: string;
  /**
   * Insurance product code.
   */
  productcode?: string;
  werknemer: WerknemerReferentie;
  periode: Periode;
}
