/** The part of MJML 5's API the template compiler uses (MJML ships no type declarations). */
declare module "mjml" {
  interface MjmlError {
    line: number;
    message: string;
    tagName: string;
  }
  export default function mjml2html(
    input: string,
    options?: { validationLevel?: "strict" | "soft" | "skip" },
  ): Promise<{ html: string; errors: MjmlError[] }>;
}
