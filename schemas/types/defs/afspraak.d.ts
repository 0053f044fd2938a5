import type { Traject } from './traject.js';
import type { WerkgeverId } from './werkgever-id.js';
import type { WerknemerReferentie } from './werknemer-referentie.js';

/**
 * An appointment of an employee (a consultation with the company doctor, for example), as planned or completed in a planning system.
 */
export interface Afspraak {
  /**
   * Id of the appointment in the planning system.
   */
  afspraakId: string;
  /**
   * The planning system, e.g. `planningsagenda`.
   */
  bron: string;
  /**
   * The absence case, when the appointment belongs to one.
   */
  verzuimgevalId?: string;
  traject?: Traject;
  werknemer: WerknemerReferentie;
  /**
   * Consultation type code; when absent the receiving adapter uses its configured default.
   */
  spreekuursoort?: string;
  /**
   * Start of the appointment.
   */
  start: string;
  /**
   * End of the appointment.
   */
  eind?: string;
  /**
   * Where it takes place (address or `telefonisch`, `video`).
   */
  locatie?: string;
  /**
   * The professional the employee sees.
   */
  behandelaar?: {
    /**
     * Name of the professional.
     */
    naam: string;
    /**
     * Role, e.g. `bedrijfsarts`.
     */
    functie?: string;
  };
  /**
   * State of the appointment.
   */
  status: 'gepland' | 'voltooid' | 'geannuleerd';
  /**
   * When the appointment was completed.
   */
  voltooidOp?: string;
  /**
   * Task codes to signal in the receiving system (e.g. configured on completion, `PrintTaak` when planned).
   *
   * @maxItems 50
   */
  taakcodes?: string[];
}
