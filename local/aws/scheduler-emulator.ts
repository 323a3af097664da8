/**
 * A minimal EventBridge Scheduler emulator (REST-JSON) for the node backend: no npm
 * package emulates Scheduler, and sync-schedules and local mode use the real
 * SchedulerClient. It implements exactly what they call: CreateScheduleGroup,
 * Create/Get/Update/Delete/ListSchedules, with Scheduler's refusals that matter here (an
 * unknown group or schedule, a duplicate, a malformed expression, time zone or target).
 * It keeps state only; firing is local/pipeline's job. moto (LOCAL_AWS_BACKEND=moto)
 * plays the same part from its own Scheduler implementation.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

type Json = Record<string, unknown>;

interface StoredSchedule extends Json {
  Name: string;
  GroupName: string;
  Arn: string;
  CreationDate: number;
  LastModificationDate: number;
}

class SchedulerError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const validation = (message: string) => new SchedulerError("ValidationException", 400, message);

const FIELDS = /^\S+$/;

/** Scheduler's cron: six fields, and one of day-of-month or day-of-week must be `?`. */
function checkExpression(expression: unknown): void {
  const text = typeof expression === "string" ? expression.trim() : "";
  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron) {
    const fields = (cron[1] ?? "").trim().split(/\s+/);
    if (fields.length !== 6 || !fields.every((field) => FIELDS.test(field))) {
      throw validation(`Invalid Schedule Expression ${text}.`);
    }
    if ((fields[2] === "?") === (fields[4] === "?")) {
      throw validation(`Invalid Schedule Expression ${text}.`);
    }
    return;
  }
  if (/^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$/.test(text)) return;
  if (/^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$/.test(text)) return;
  throw validation(`Invalid Schedule Expression ${text}.`);
}

function checkTimeZone(zone: unknown): void {
  if (zone === undefined) return;
  try {
    new Intl.DateTimeFormat("en", { timeZone: String(zone) });
  } catch {
    throw validation(`Invalid ScheduleExpressionTimezone ${String(zone)}.`);
  }
}

function checkBody(body: Json): void {
  checkExpression(body.ScheduleExpression);
  checkTimeZone(body.ScheduleExpressionTimezone);
  const window = body.FlexibleTimeWindow as Json | undefined;
  if (window?.Mode !== "OFF" && window?.Mode !== "FLEXIBLE") {
    throw validation("FlexibleTimeWindow.Mode must be OFF or FLEXIBLE.");
  }
  if (window.Mode === "FLEXIBLE" && !(Number(window.MaximumWindowInMinutes) >= 1)) {
    throw validation("FlexibleTimeWindow.MaximumWindowInMinutes is required when Mode is FLEXIBLE.");
  }
  const target = body.Target as Json | undefined;
  if (typeof target?.Arn !== "string" || typeof target.RoleArn !== "string") {
    throw validation("Target.Arn and Target.RoleArn are required.");
  }
  if (body.State !== undefined && body.State !== "ENABLED" && body.State !== "DISABLED") {
    throw validation("State must be ENABLED or DISABLED.");
  }
}

/** The emulator's state, by group; the `default` group always exists, as on AWS. */
function schedulerActions(region: string, accountId: string) {
  const groups = new Map<string, Map<string, StoredSchedule>>([["default", new Map()]]);
  const groupOf = (name: unknown): Map<string, StoredSchedule> => {
    const groupName = typeof name === "string" && name !== "" ? name : "default";
    const group = groups.get(groupName);
    if (!group)
      throw new SchedulerError("ResourceNotFoundException", 404, `Group ${groupName} does not exist.`);
    return group;
  };
  const scheduleOf = (group: Map<string, StoredSchedule>, name: string): StoredSchedule => {
    const schedule = group.get(name);
    if (!schedule)
      throw new SchedulerError("ResourceNotFoundException", 404, `Schedule ${name} does not exist.`);
    return schedule;
  };
  const now = () => Date.now() / 1000;
  const stored = (name: string, body: Json, created: number): StoredSchedule => {
    const groupName =
      typeof body.GroupName === "string" && body.GroupName !== "" ? body.GroupName : "default";
    const { ClientToken: _token, ...fields } = body;
    return {
      State: "ENABLED",
      ActionAfterCompletion: "NONE",
      ...fields,
      Name: name,
      GroupName: groupName,
      Arn: `arn:aws:scheduler:${region}:${accountId}:schedule/${groupName}/${name}`,
      CreationDate: created,
      LastModificationDate: now(),
    };
  };

  return {
    createGroup(name: string): Json {
      if (groups.has(name))
        throw new SchedulerError("ConflictException", 409, `Group ${name} already exists.`);
      groups.set(name, new Map());
      return { ScheduleGroupArn: `arn:aws:scheduler:${region}:${accountId}:schedule-group/${name}` };
    },
    create(name: string, body: Json): Json {
      const group = groupOf(body.GroupName);
      if (group.has(name))
        throw new SchedulerError("ConflictException", 409, `Schedule ${name} already exists.`);
      checkBody(body);
      const schedule = stored(name, body, now());
      group.set(name, schedule);
      return { ScheduleArn: schedule.Arn };
    },
    update(name: string, body: Json): Json {
      const group = groupOf(body.GroupName);
      const before = scheduleOf(group, name);
      checkBody(body);
      // UpdateSchedule replaces every field: what the request leaves out is gone.
      const schedule = stored(name, body, before.CreationDate);
      group.set(name, schedule);
      return { ScheduleArn: schedule.Arn };
    },
    get(name: string, groupName: string | null): Json {
      return scheduleOf(groupOf(groupName), name);
    },
    delete(name: string, groupName: string | null): Json {
      const group = groupOf(groupName);
      scheduleOf(group, name);
      group.delete(name);
      return {};
    },
    list(query: URLSearchParams): Json {
      const wanted = query.get("ScheduleGroup");
      const prefix = query.get("NamePrefix") ?? "";
      const state = query.get("State");
      const schedules = [...groups.entries()]
        .filter(([groupName]) => wanted === null || wanted === groupName)
        .flatMap(([, group]) => [...group.values()])
        .filter((schedule) => schedule.Name.startsWith(prefix))
        .filter((schedule) => state === null || schedule.State === state)
        .map((schedule) => ({
          Arn: schedule.Arn,
          Name: schedule.Name,
          GroupName: schedule.GroupName,
          State: schedule.State,
          CreationDate: schedule.CreationDate,
          LastModificationDate: schedule.LastModificationDate,
          Target: { Arn: (schedule.Target as Json | undefined)?.Arn },
        }));
      return { Schedules: schedules };
    },
  };
}

type Actions = ReturnType<typeof schedulerActions>;

function route(actions: Actions, method: string, url: URL, body: Json): Json {
  const schedule = /^\/schedules\/([^/]+)$/.exec(url.pathname);
  const group = /^\/schedule-groups\/([^/]+)$/.exec(url.pathname);
  const name = decodeURIComponent(schedule?.[1] ?? group?.[1] ?? "");
  if (group && method === "POST") return actions.createGroup(name);
  if (url.pathname === "/schedules" && method === "GET") return actions.list(url.searchParams);
  if (schedule) {
    const groupName = url.searchParams.get("groupName");
    if (method === "POST") return actions.create(name, body);
    if (method === "PUT") return actions.update(name, body);
    if (method === "GET") return actions.get(name, groupName);
    if (method === "DELETE") return actions.delete(name, groupName);
  }
  throw new SchedulerError(
    "UnknownOperationException",
    404,
    `${method} ${url.pathname} is not supported locally.`,
  );
}

export function createSchedulerEmulator(region = "eu-central-1", accountId = "000000000000"): Server {
  const actions = schedulerActions(region, accountId);
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const reply = (status: number, payload: Json, errorType?: string): void => {
        res.writeHead(status, {
          "content-type": "application/json",
          ...(errorType === undefined ? {} : { "x-amzn-errortype": errorType }),
        });
        res.end(JSON.stringify(payload));
      };
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        const body = (text ? JSON.parse(text) : {}) as Json;
        const url = new URL(req.url ?? "/", "http://scheduler.local");
        reply(200, route(actions, req.method ?? "GET", url, body));
      } catch (error) {
        if (error instanceof SchedulerError) reply(error.status, { Message: error.message }, error.type);
        else reply(500, { Message: String(error) }, "InternalServerException");
      }
    });
  });
}
