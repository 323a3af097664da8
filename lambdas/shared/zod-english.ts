/**
 * Zod's English messages for `zod/mini` schemas. Classic zod registers them by itself; mini
 * registers none and says only "Invalid input", which would leave operators guessing in
 * the logs (Lasso answer issues, an invalid SES event, a hand-edited MAIL_PROFILE). English
 * alone is about 3 KB of a bundle; no other locale is loaded. Imported for its effect by
 * every Lambda module whose schemas' messages reach an error or a log (test/unit/
 * zod-messages.test.ts); a yes/no check such as "is this an address" needs none.
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());
