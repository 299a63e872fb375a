/** Exponential backoff with full jitter, capped. */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const backoffDelay = (attempt: number, options: BackoffOptions): number => {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
};

export class Backoff {
  private attempt = 0;
  constructor(private readonly options: BackoffOptions) {}

  next(): number {
    return backoffDelay(this.attempt++, this.options);
  }

  reset(): void {
    this.attempt = 0;
  }
}
