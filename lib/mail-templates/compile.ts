/**
 * The mail templates (templates/mail/, docs/delivery.md#templates) compiled for
 * deliver-report: the MJML layout to HTML with MJML, then every template precompiled by
 * Handlebars into lambdas/shared/mail/templates.generated.js, which the function bundles
 * with Handlebars' small runtime only (no MJML, no template compiler in the Lambda).
 *
 * Checked here, so a mistake fails `npm run build:mail` and `cdk synth` (bin/app.ts) with
 * the file's name: a variable or helper the code does not provide (every path in every
 * branch, not just the branches a sample renders), a partial, an MJML error, phrases files
 * whose keys differ between languages, a missing template; and synth refuses a generated
 * file that is not the templates' current compilation (run `npm run build:mail`).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import mjml2html from "mjml";
import { LANGUAGES } from "#shared/customers.ts";
import { REPORT_TYPES } from "#shared/lasso/enums.ts";
import { MAIL_TEMPLATE_VARIABLES } from "#shared/mail/template-variables.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TEMPLATE_DIR = path.join(ROOT, "templates", "mail");
export const GENERATED_FILE = path.join(ROOT, "lambdas", "shared", "mail", "templates.generated.js");

export class MailTemplateError extends Error {
  override readonly name = "MailTemplateError";
}

/** The helpers templates may use: Handlebars' own block helpers. */
const HELPERS = new Set(["if", "unless", "each", "with"]);
const SCOPED = new Set(["each", "with"]);

interface PathNode {
  type: "PathExpression";
  original: string;
  parts: string[];
  depth: number;
  data: boolean;
}
type Node = { type: string; [key: string]: unknown };

const isNode = (value: unknown): value is Node =>
  typeof value === "object" && value !== null && typeof (value as Node).type === "string";

/** Every problem of one template's variables and helpers ("" when none). */
export function templateProblems(
  source: string,
  known: Readonly<Record<string, readonly string[] | true>>,
): string[] {
  const problems: string[] = [];
  const checkPath = (node: PathNode, scoped: boolean) => {
    if (node.data) return; // @index, @first, @root...
    if (node.original === "this" || node.original === ".") return;
    // Inside each/with a plain path would be the item's: only this, @data and ../ are allowed.
    if (scoped && node.depth === 0) {
      problems.push(`{{${node.original}}} inside each/with: write {{this}} or {{../${node.original}}}`);
      return;
    }
    const [root, sub, ...rest] = node.parts;
    const allowed = root === undefined ? undefined : known[root];
    if (allowed === undefined) problems.push(`unknown variable {{${node.original}}}`);
    else if (
      allowed === true
        ? sub !== undefined
        : sub === undefined
          ? false
          : !allowed.includes(sub) || rest.length > 0
    )
      problems.push(`unknown variable {{${node.original}}}`);
  };
  const walk = (value: unknown, scoped: boolean): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, scoped);
      return;
    }
    if (!isNode(value)) return;
    switch (value.type) {
      case "PartialStatement":
      case "PartialBlockStatement":
      case "DecoratorBlock":
      case "Decorator":
        problems.push(`${value.type} is not supported: keep each template in its own file`);
        return;
      case "MustacheStatement":
      case "SubExpression":
      case "BlockStatement": {
        const target = value.path as PathNode;
        const params = (value.params as unknown[]) ?? [];
        const isHelperCall = value.type !== "MustacheStatement" || params.length > 0;
        if (isHelperCall) {
          if (!HELPERS.has(target.original)) problems.push(`unknown helper {{${target.original}}}`);
          for (const param of params) {
            if (isNode(param) && param.type === "PathExpression")
              checkPath(param as unknown as PathNode, scoped);
            else walk(param, scoped);
          }
        } else checkPath(target, scoped);
        if (value.type === "BlockStatement") {
          walk((value.program as Node | undefined)?.body, scoped || SCOPED.has(target.original));
          walk((value.inverse as Node | undefined)?.body, scoped);
        }
        return;
      }
      default:
        for (const child of Object.values(value)) if (typeof child === "object") walk(child, scoped);
    }
  };
  walk(Handlebars.parse(source).body, false);
  return [...new Set(problems)];
}

interface Source {
  /** The template's key in the generated module. */
  key: string;
  file: string;
  source: string;
  /** Text parts and subjects: no HTML escaping. */
  noEscape: boolean;
}

function read(dir: string, file: string): string {
  try {
    return readFileSync(path.join(dir, file), "utf8");
  } catch {
    throw new MailTemplateError(`mail template ${path.join(dir, file)} is missing`);
  }
}

/** The template sources of a template folder, the MJML layout already compiled to HTML. */
async function sources(
  dir: string,
): Promise<{ templates: Source[]; phrases: Record<string, Record<string, string>> }> {
  const layout = await mjml2html(read(dir, "layout.mjml"), { validationLevel: "strict" });
  if (layout.errors.length > 0) {
    const errors = layout.errors.map((error) => `line ${error.line}: ${error.message}`).join("; ");
    throw new MailTemplateError(`${path.join(dir, "layout.mjml")}: ${errors}`);
  }
  const templates: Source[] = [
    { key: "layout.html", file: "layout.mjml", source: layout.html, noEscape: false },
    { key: "layout.text", file: "layout.txt.hbs", source: read(dir, "layout.txt.hbs"), noEscape: true },
  ];
  const phrases: Record<string, Record<string, string>> = {};
  for (const language of LANGUAGES) {
    const file = `${language}/phrases.json`;
    const parsed: unknown = JSON.parse(read(dir, file));
    if (
      typeof parsed !== "object" ||
      parsed === null ||
      Object.values(parsed).some((value) => typeof value !== "string")
    ) {
      throw new MailTemplateError(`${path.join(dir, file)} must be an object of texts`);
    }
    phrases[language] = parsed as Record<string, string>;
    for (const name of [...REPORT_TYPES, "failure-notice"]) {
      for (const part of ["subject", "body"] as const) {
        const file = `${language}/${name}.${part}.hbs`;
        const source = read(dir, file);
        // Bodies are plain text: the HTML part gets the rendered text escaped as a whole.
        templates.push({ key: `${language}.${name}.${part}`, file, source, noEscape: true });
      }
    }
  }
  const [first, ...others] = LANGUAGES.map((language) =>
    Object.keys(phrases[language] ?? {})
      .sort()
      .join(","),
  );
  if (others.some((keys) => keys !== first)) {
    throw new MailTemplateError(
      `the phrases.json files of ${LANGUAGES.join(" and ")} must have the same keys`,
    );
  }
  return { templates, phrases };
}

/** The generated module's source for a template folder; throws {@link MailTemplateError}. */
export async function compileMailTemplates(dir: string = TEMPLATE_DIR): Promise<string> {
  const { templates, phrases } = await sources(dir);
  const known = {
    ...MAIL_TEMPLATE_VARIABLES,
    phrases: Object.keys(phrases[LANGUAGES[0]] ?? {}),
  };
  const problems = templates.flatMap((template) =>
    templateProblems(template.source, known).map((problem) => `${path.join(dir, template.file)}: ${problem}`),
  );
  if (problems.length > 0)
    throw new MailTemplateError(`mail templates:\n  ${[...new Set(problems)].join("\n  ")}`);
  const specs = templates.map((template) => {
    const spec = Handlebars.precompile(template.source, {
      strict: true,
      knownHelpersOnly: true,
      noEscape: template.noEscape,
    });
    return `  ${JSON.stringify(template.key)}: ${String(spec)},`;
  });
  return [
    "// Generated by `npm run build:mail` (lib/mail-templates/compile.ts) from templates/mail/: do not edit.",
    `export const PHRASES = ${JSON.stringify(phrases)};`,
    "export const TEMPLATES = {",
    ...specs,
    "};",
    "",
  ].join("\n");
}

/**
 * For synth: the templates compile, and the generated module deliver-report bundles is
 * their current compilation.
 */
export async function checkMailTemplates(dir: string = TEMPLATE_DIR): Promise<void> {
  const compiled = await compileMailTemplates(dir);
  let generated = "";
  try {
    generated = readFileSync(GENERATED_FILE, "utf8");
  } catch {
    // Reported below.
  }
  if (generated !== compiled) {
    throw new MailTemplateError(
      `${path.relative(ROOT, GENERATED_FILE)} is not the compilation of ${path.relative(ROOT, dir) || dir}: run npm run build:mail`,
    );
  }
}
