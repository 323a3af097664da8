/** `npm run build:holidays`: writes the Danish public holidays table from date-holidays. */
import { writeFileSync } from "node:fs";
import { GENERATED_HOLIDAYS_FILE, generatedHolidaysSource } from "./danish-holidays.ts";

writeFileSync(GENERATED_HOLIDAYS_FILE, generatedHolidaysSource());
console.log(`wrote ${GENERATED_HOLIDAYS_FILE}`);
