/**
 * Card numbers are 12 to 19 digits, written with or without spaces or dashes: every run of 12 or
 * more digits keeps its last four. Payrail ids (`req_01J…`, `acct_01M…`, whose random part is often
 * mostly digits; their time part has letters) are left whole, or an error that names an account
 * would mask the account's id. The logger and error bodies both mask with this one function.
 */
const ID_OR_DIGIT_RUN = /\b([a-z]+(?:_[a-z]+)*_[0-9A-Z]{26})(?![0-9A-Za-z])|(?<!\d)\d(?:[ -]?\d){11,}/g;
const DIGIT_RUN = /(?<!\d)\d(?:[ -]?\d){11,}/g;

function maskDigits(run: string): string {
  const digits = run.replace(/[ -]/g, '');
  return `${'*'.repeat(digits.length - 4)}${digits.slice(-4)}`;
}

/** `keep` may leave a bare digit run whole (the logger's epoch-millisecond timestamps). */
export function maskCardNumbers(text: string, keep?: (run: string, offset: number, whole: string) => boolean): string {
  return text.replace(ID_OR_DIGIT_RUN, (match: string, id: string | undefined, offset: number, whole: string) => {
    // An id's body starts with its time in base32, which has letters: digits there are no id of ours.
    if (id !== undefined) return /[A-Z]/.test(id.slice(-26, -16)) ? match : match.replace(DIGIT_RUN, maskDigits);
    return keep?.(match, offset, whole) ? match : maskDigits(match);
  });
}
