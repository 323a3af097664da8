/**
 * Deterministic company registry of the simulator (a stand-in for CVR data behind Lasso).
 *
 * - A cvr that is not 8 digits or fails the modulus-11 check is an unknown company: its
 *   report ends Failed with "Company not found".
 * - Every other cvr is a known company. Its name, city and balance day are derived from a
 *   hash of the cvr alone, so the same cvr always names the same company, in every process.
 *   Names look Danish and now and then carry æ, ø, å and "A/S"-style legal forms (which
 *   contain a slash: good for exercising file-name sanitising).
 */

import { checkCvr } from "#shared/cvr.ts";
import { derivedRandom, pick } from "./prng.ts";

export interface BalanceDay {
  /** Day of month, 1..31. */
  day: number;
  /** Month, 1..12. */
  month: number;
}

export interface Company {
  cvr: string;
  name: string;
  city: string;
  /** The last day of the company's financial year (Danish "balancedag"), e.g. 31 December. */
  balanceDay: BalanceDay;
}

export type CompanyLookup = { found: true; company: Company } | { found: false; cvr: string; reason: string };

const SURNAMES = [
  "Nørregaard",
  "Østergaard",
  "Søndergaard",
  "Vestergaard",
  "Kjærgaard",
  "Bækgaard",
  "Mølgaard",
  "Hansen",
  "Jensen",
  "Nielsen",
  "Pedersen",
  "Andersen",
  "Christensen",
  "Larsen",
  "Sørensen",
  "Rasmussen",
  "Jørgensen",
  "Madsen",
  "Kristensen",
  "Dahl",
  "Holm",
  "Lund",
  "Skov",
  "Bjørn",
  "Krogh",
  "Fæster",
  "Åberg",
  "Thygesen",
  "Frølund",
] as const;

const PLACES = [
  "Åbyhøj",
  "Kærby",
  "Løgstør",
  "Brønderslev",
  "Præstø",
  "Hjørring",
  "Fåborg",
  "Næstved",
  "Køge",
  "Aarhus",
  "Odense",
  "Vejle",
  "Ribe",
  "Skagen",
  "Tønder",
] as const;

const TRADES = [
  "Revision",
  "Rådgivning",
  "Byg",
  "Tømrer",
  "Maskinfabrik",
  "Handel",
  "Ejendomme",
  "Consult",
  "VVS",
  "Transport",
  "Bageri",
  "Elektro",
  "Tandlæger",
  "Invest",
  "Økologi",
  "Smedje",
] as const;

/** ApS is by far the most common Danish company form; the rest appear now and then. */
const LEGAL_FORMS = ["ApS", "ApS", "ApS", "ApS", "A/S", "A/S", "I/S", "K/S", "P/S"] as const;

const BALANCE_DAYS: readonly { weight: number; balanceDay: BalanceDay }[] = [
  { weight: 0.7, balanceDay: { day: 31, month: 12 } },
  { weight: 0.15, balanceDay: { day: 30, month: 6 } },
  { weight: 0.08, balanceDay: { day: 30, month: 9 } },
  { weight: 0.07, balanceDay: { day: 31, month: 3 } },
];

function balanceDayFor(r: number): BalanceDay {
  let acc = 0;
  for (const { weight, balanceDay } of BALANCE_DAYS) {
    acc += weight;
    if (r < acc) return { ...balanceDay };
  }
  return { day: 31, month: 12 };
}

function companyName(cvr: string): string {
  const random = derivedRandom("company-name", cvr);
  const pattern = random();
  const surname = pick(SURNAMES, random());
  const other = pick(SURNAMES, random());
  const place = pick(PLACES, random());
  const trade = pick(TRADES, random());
  const form = pick(LEGAL_FORMS, random());
  if (pattern < 0.45) return `${surname} ${trade} ${form}`;
  if (pattern < 0.65) return `${surname} & ${other === surname ? "Søn" : other} ${form}`;
  if (pattern < 0.85) return `${place} ${trade} ${form}`;
  return `${surname} Holding ${form}`;
}

/** Looks a company up by cvr (number or string). Pure and deterministic. */
export function lookupCompany(cvrValue: string | number): CompanyLookup {
  const check = checkCvr(cvrValue);
  if (!check.ok) {
    return {
      found: false,
      cvr: check.cvr,
      reason: check.reason === "checksum" ? "Company not found" : "Company not found (invalid CVR)",
    };
  }
  const random = derivedRandom("company-facts", check.cvr);
  return {
    found: true,
    company: {
      cvr: check.cvr,
      name: companyName(check.cvr),
      city: pick(PLACES, random()),
      balanceDay: balanceDayFor(random()),
    },
  };
}

/**
 * The balance date of the company's latest published annual report as of `runDate`: the most
 * recent occurrence of its balance day that lies at least 5 months (the Danish filing deadline
 * for class B) before the run date. Returned as a UTC date.
 */
export function latestBalanceDate(balanceDay: BalanceDay, runDate: Date): Date {
  const deadline = new Date(
    Date.UTC(runDate.getUTCFullYear(), runDate.getUTCMonth() - 5, runDate.getUTCDate()),
  );
  let year = deadline.getUTCFullYear();
  for (;;) {
    const candidate = new Date(Date.UTC(year, balanceDay.month - 1, balanceDay.day));
    if (candidate.getTime() <= deadline.getTime()) return candidate;
    year -= 1;
  }
}
