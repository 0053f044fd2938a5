/**
 * The elfproef (11-check) for BSN and RSIN, per PROTOCOLS.md §3.4: nine digits d1…d9 with
 * 9·d1 + 8·d2 + … + 2·d8 − 1·d9 ≡ 0 (mod 11), all zeros rejected.
 *
 * Only the 9-digit form is accepted. An old 8-digit BSN is valid after a leading zero, but the
 * canonical model requires the sender to add it: silently padding here would let `12345678`
 * and `012345678` be two spellings of one person in logs, pseudonyms and partner messages.
 */
const NINE_DIGITS = /^[0-9]{9}$/;

function passesElfproef(text: string): boolean {
  if (!NINE_DIGITS.test(text)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (9 - i) * (text.charCodeAt(i) - 48);
  sum -= text.charCodeAt(8) - 48;
  // A sum of 0 only comes from numbers like 000000000, which are never issued.
  return sum !== 0 && sum % 11 === 0;
}

/** Whether `text` is a burgerservicenummer: exactly 9 digits passing the elfproef. */
export function isValidBsn(text: string): boolean {
  return passesElfproef(text);
}

/** Whether `text` is an RSIN (ZGW `bronorganisatie`): the same 9-digit elfproef as a BSN. */
export function isValidRsin(text: string): boolean {
  return passesElfproef(text);
}
