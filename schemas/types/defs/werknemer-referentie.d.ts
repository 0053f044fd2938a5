import type { WerkgeverId } from './werkgever-id.js';

/**
 * A reference to an employee known to both sides, without personal data.
 */
export interface WerknemerReferentie {
  /**
   * Id of the employee (SIVI `IdWrknmr`).
   */
  werknemerId: string;
  werkgeverId: WerkgeverId;
  /**
   * Id of the employment contract, when the message concerns one.
   */
  dienstverbandId?: string;
}
