import type { Bsn } from './defs/bsn.js';
import type { Rsin } from './defs/rsin.js';

/**
 * A case (zaak) got a new status. Carries a snapshot of the whole zaak, because MijnOverheid Lopende Zaken needs it (StUF-ZKN `zakLk01`). Field names as in the ZGW Zaken and Catalogi APIs.
 */
export interface ZaakStatusGezet {
  zaak: Zaak;
  status: Status;
}
/**
 * The case as it is after the status change; `bronorganisatie` is the RSIN of the organisation responsible for it.
 */
export interface Zaak {
  /**
   * Unique id of the zaak within the bronorganisatie.
   */
  identificatie: string;
  bronorganisatie: Rsin;
  /**
   * Short description shown to the citizen.
   */
  omschrijving: string;
  /**
   * Explanation.
   */
  toelichting?: string;
  zaaktype: Zaaktype;
  /**
   * Date the case started.
   */
  startdatum: string;
  /**
   * Planned end date.
   */
  einddatumGepland?: string;
  /**
   * Actual end date, once closed.
   */
  einddatum?: string;
  /**
   * The outcome, once known.
   */
  resultaat?: {
    /**
     * Description of the outcome (ZGW `ResultaatType.omschrijving`).
     */
    omschrijving: string;
  };
  /**
   * HTTPS URL of the case dossier for the citizen (StUF `extraElement` `verwijzing`).
   */
  verwijzing?: string;
  initiator: Initiator;
}
/**
 * The case type (ZGW Catalogi `ZaakType`), by value.
 */
export interface Zaaktype {
  /**
   * Id of the case type in the catalogue.
   */
  identificatie: string;
  /**
   * Name of the case type.
   */
  omschrijving: string;
}
/**
 * The citizen who started the case (ZGW `Rol` with `omschrijvingGeneriek` `initiator`, natuurlijk persoon); `bsn` is ZGW `inpBsn`.
 */
export interface Initiator {
  bsn: Bsn;
  /**
   * Whether the BSN comes from an authentic source (e.g. DigiD); Lopende Zaken receives only authentic BSNs (StUF `authentiek`).
   */
  authentiek: boolean;
  /**
   * Surname without prefix.
   */
  geslachtsnaam: string;
  /**
   * Surname prefix, e.g. `van der`.
   */
  voorvoegselGeslachtsnaam?: string;
  /**
   * Initials.
   */
  voorletters?: string;
  /**
   * First names.
   */
  voornamen?: string;
  /**
   * Gender: `m`, `v` or `o` (onbekend).
   */
  geslachtsaanduiding?: 'm' | 'v' | 'o';
  /**
   * Date of birth.
   */
  geboortedatum?: string;
}
/**
 * The status just set (ZGW `Status`).
 */
export interface Status {
  statustype: Statustype;
  /**
   * When the status was set.
   */
  datumStatusGezet: string;
  /**
   * Explanation of this status.
   */
  statustoelichting?: string;
}
/**
 * The status type (ZGW Catalogi `StatusType`), by value.
 */
export interface Statustype {
  /**
   * Name of the status.
   */
  omschrijving: string;
  /**
   * Position of the status in the case type's sequence.
   */
  volgnummer: number;
  /**
   * Whether this status closes the case.
   */
  isEindstatus: boolean;
  /**
   * Whether the initiator must be informed of this status; Lopende Zaken sends only these.
   */
  informeren: boolean;
  /**
   * Text used to inform the initiator.
   */
  statustekst?: string;
}
