// Dollars as a user reads them: the JS twin of grok_nb.pricing.format_usd.
//
// Both are held to tests/data/usd_vectors.json, so keep every step in line with the
// Python. The rule (see format_usd's docstring): null / NaN / ±Infinity -> "price
// unknown"; zero -> "$0"; |v| >= 1 -> cents with thousands separators ("$1,234.50");
// 0 < |v| < 1 -> three significant figures, at least two decimals ("$0.50",
// "$0.000411"); below one billing tick (1e-10 USD) -> "< $0.0000000001"; negatives
// get a leading minus. Rounding is half up on the shortest decimal that reads back as
// the same double (String(v) here, repr(v) in Python), in BigInt arithmetic: toFixed
// and toPrecision round exact ties differently from Python's format().

export const UNKNOWN_PRICE = "price unknown";
const TICK_EXPONENT = -10; // one cost_in_usd_tick is 1e-10 USD

/** `[digits, exponent]` (BigInt, Number) with v === digits * 10**exponent, from String(v). */
function shortestDecimal(v) {
  const [mantissa, exp = "0"] = String(v).split("e");
  const [whole, fraction = ""] = mantissa.split(".");
  return [BigInt(whole + fraction), Number(exp) - fraction.length];
}

/** digits * 10**shift rounded half up to an integer (BigInt, exact). */
function roundHalfUp(digits, shift) {
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const unit = 10n ** BigInt(-shift);
  return digits / unit + (2n * (digits % unit) >= unit ? 1n : 0n);
}

const group = (n) => n.toString().replace(/\B(?=(\d{3})+$)/g, ",");

/** "$1.25", "$0.000411", "-$0.0012", "$0", "price unknown": see the header. */
export function formatUsd(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return UNKNOWN_PRICE;
  if (value === 0) return "$0";
  const sign = value < 0 ? "-" : "";
  const [digits, exponent] = shortestDecimal(Math.abs(value));
  const magnitude = digits.toString().length - 1 + exponent; // floor(log10(|value|))
  if (magnitude < TICK_EXPONENT) return sign ? "> -$0.0000000001" : "< $0.0000000001";
  if (magnitude < 0) {
    const places = 2 - magnitude; // three significant figures
    const scaled = roundHalfUp(digits, exponent + places);
    if (scaled < 10n ** BigInt(places)) { // still below a dollar once rounded
      const text = scaled.toString().padStart(places, "0").replace(/0+$/, "").padEnd(2, "0");
      return `${sign}$0.${text}`;
    }
  }
  const cents = roundHalfUp(digits, exponent + 2);
  return `${sign}$${group(cents / 100n)}.${(cents % 100n).toString().padStart(2, "0")}`;
}
