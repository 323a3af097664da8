/** `customers`: the customer table's commands (import, export, list, validate, delete). */
import type { Command } from "commander";
import type { CommandContext } from "./context.ts";
import { addCustomersDelete } from "./customers-delete.ts";
import { addCustomersExport } from "./customers-export.ts";
import { addCustomersImport } from "./customers-import.ts";
import { addCustomersList } from "./customers-list.ts";
import { addCustomersValidate } from "./customers-validate.ts";

export function addCustomersCommands(program: Command, context: CommandContext): void {
  const customers = program
    .command("customers")
    .description("the customer table: import a spreadsheet, export, list, validate, delete");
  addCustomersImport(customers, context);
  addCustomersExport(customers, context);
  addCustomersList(customers, context);
  addCustomersValidate(customers, context);
  addCustomersDelete(customers, context);
}
