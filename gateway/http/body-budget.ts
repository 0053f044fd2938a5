/**
 * Bounds the bytes of request bodies that ingest reads and holds at once. Posts beyond the budget wait,
 * unread, in arrival order until earlier ones are answered; their bytes stay in the kernel's socket
 * buffers and the clients feel TCP backpressure. Without it every body that arrives is parsed and held
 * until its group commits: 64 clients posting batches kept 6,400 parsed events in memory, and a slow
 * store would let memory grow with the number of clients.
 */
export class BodyBudget {
  #held = 0;
  readonly #waiting: Array<{ bytes: number; admit(): void }> = [];

  constructor(private readonly limitBytes: number) {}

  /**
   * A ticket for a body of `bytes`: `admitted` resolves when it may be read (at once when it fits, and
   * always when nothing else is held, so a body larger than the budget is read alone). `release()`
   * gives the bytes back, or leaves the queue when not yet admitted (the client went away); it may be
   * called more than once.
   */
  take(bytes: number): { readonly admitted: Promise<void>; release(): void } {
    let state: 'waiting' | 'held' | 'released' = 'waiting';
    let admit!: () => void;
    const admitted = new Promise<void>((resolve) => (admit = resolve));
    const entry = {
      bytes,
      admit: () => {
        state = 'held';
        this.#held += bytes;
        admit();
      },
    };
    if (this.#waiting.length === 0 && this.#fits(bytes)) entry.admit();
    else this.#waiting.push(entry);
    return {
      admitted,
      release: () => {
        if (state === 'held') {
          this.#held -= bytes;
          this.#admitWaiting();
        } else if (state === 'waiting') {
          this.#waiting.splice(this.#waiting.indexOf(entry), 1);
          // The request is gone; letting its hook go on ends it there.
          admit();
          this.#admitWaiting();
        }
        state = 'released';
      },
    };
  }

  /** Bytes held by admitted bodies, and posts waiting (served at /metrics). */
  get load(): { readonly heldBytes: number; readonly waiting: number } {
    return { heldBytes: this.#held, waiting: this.#waiting.length };
  }

  #fits(bytes: number): boolean {
    return this.#held === 0 || this.#held + bytes <= this.limitBytes;
  }

  #admitWaiting(): void {
    for (let next = this.#waiting[0]; next !== undefined && this.#fits(next.bytes); next = this.#waiting[0]) {
      this.#waiting.shift();
      next.admit();
    }
  }
}
