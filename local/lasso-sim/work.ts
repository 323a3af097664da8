/**
 * Bookkeeping of the simulator's background work: every timer goes through here (so close()
 * can cancel them all) and every pending piece of work is counted (so settle() can wait for
 * the count to reach zero).
 */

export class WorkTracker {
  private pending = 0;
  private waiters: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closedFlag = false;

  get closed(): boolean {
    return this.closedFlag;
  }

  get pendingCount(): number {
    return this.pending;
  }

  /** Counts one piece of work; call the returned function (once) when it is done. */
  begin(): () => void {
    this.pending += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.pending -= 1;
      if (this.pending === 0) this.release();
    };
  }

  /** A timer cancelled by close(); never fires after close. */
  setTimer(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.closedFlag) fn();
      },
      Math.max(0, Math.min(ms, 2_147_483_647)),
    );
    this.timers.add(timer);
    return timer;
  }

  clearTimer(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  /** Resolves once no work is pending (at once when none is). */
  idle(): Promise<void> {
    if (this.pending === 0 || this.closedFlag) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.closedFlag = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.release();
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
