/**
 * The Luhn check digit test every card number passes. In the kernel because two services need it: the
 * vault rejects a mistyped number before storing it, and the sandbox processor declines one sent
 * directly, as a real processor would.
 */
export function luhnValid(number: string): boolean {
  if (!/^\d+$/.test(number)) return false;
  let sum = 0;
  let doubled = false;
  for (let i = number.length - 1; i >= 0; i--) {
    let digit = number.charCodeAt(i) - 48;
    if (doubled) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    doubled = !doubled;
  }
  return sum % 10 === 0;
}
