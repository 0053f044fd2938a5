import type { Document } from './defs/document.js';
import type { Traject } from './defs/traject.js';
import type { WerkgeverId } from './defs/werkgever-id.js';
import type { WerknemerReferentie } from './defs/werknemer-referentie.js';

/**
 * A document about an employee arrived from a partner, e.g. a call letter (oproepbrief) or consultation result (spreekuurresultaat) recorded in Planningsagenda, with its form fields.
 */
export interface DocumentOntvangen {
  /**
   * The system the document comes from, e.g. `planningsagenda`.
   */
  bron: string;
  werknemer: WerknemerReferentie;
  /**
   * The absence case, when the document belongs to one.
   */
  verzuimgevalId?: string;
  traject?: Traject;
  /**
   * The appointment the document belongs to (call letter, result).
   */
  afspraakId?: string;
  document: Document;
  /**
   * Task codes to signal in the receiving system.
   *
   * @maxItems 50
   */
  taakcodes?: string[];
}
