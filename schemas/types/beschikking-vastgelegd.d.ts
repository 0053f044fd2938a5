import type { Periode } from './defs/periode.js';
import type { SoortMutatie } from './defs/soort-mutatie.js';
import type { WerkgeverId } from './defs/werkgever-id.js';
import type { WerknemerReferentie } from './defs/werknemer-referentie.js';

/**
 * Reference record for datastreams: a decision about an employee (e.g. a UWV decision on WIA, WGA, IVA or Ziektewet benefits) was recorded, changed or removed.
 */
export interface BeschikkingVastgelegd {
  soortMutatie: SoortMutatie;
  /**
   * Id of the decision in the sending system.
   */
  beschikkingId: string;
  /**
   * Kind of decision, e.g. `wga`, `iva`, `ziektewet`, `loonsanctie`.
   */
  soortBeschikking: string;
  /**
   * Who decided, e.g. `UWV`.
   */
  uitkeringsinstantie?: string;
  /**
   * Date of the decision.
   */
  datumBeschikking: string;
  periode: Periode;
  /**
   * Degree of incapacity for work, when the decision states one (medical-adjacent).
   */
  arbeidsongeschiktheidspercentage?: number;
  /**
   * The absence case the decision belongs to.
   */
  verzuimgevalId?: string;
  werknemer: WerknemerReferentie;
  /**
   * Explanation.
   */
  toelichting?: string;
}
