/** Types of templates.generated.js (written by `npm run build:mail`; see lib/mail-templates/compile.ts). */
import type { TemplateDelegate } from "handlebars";

type Specification = Parameters<typeof import("handlebars").template>[0];

/** Per language, phrases.json. */
export declare const PHRASES: Readonly<Record<"da" | "en", Readonly<Record<string, string>>>>;
/** Precompiled Handlebars templates by key (`layout.html`, `da.Revision.subject`, ...). */
export declare const TEMPLATES: Readonly<Record<string, Specification>>;
export type { TemplateDelegate };
