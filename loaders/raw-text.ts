/**
 * A record as text, not yet parsed (a line of an imported file): the loader parses it, and
 * quarantines it with its location when it is not a JSON object.
 */
export class RawText {
  readonly text: string;
  readonly location?: string;
  constructor(
    text: string,
    location?: string,
  ) {
    this.text = text;
    this.location = location;
  }
}

/**
 * A record that could not even be turned into an object (e.g. a CSV row with an unparseable
 * date, a line that is not UTF-8): the loader quarantines it with the reason.
 */
export class RejectedRecord {
  readonly text: string;
  readonly reason: string;
  readonly location?: string;
  constructor(
    text: string,
    reason: string,
    location?: string,
  ) {
    this.text = text;
    this.reason = reason;
    this.location = location;
  }
}

/**
 * A record already turned into an object (a CSV row) that keeps where it was read, so the
 * loader names the file and line if it has to quarantine it.
 */
export class LocatedRecord {
  readonly value: Record<string, unknown>;
  readonly location?: string;
  constructor(
    value: Record<string, unknown>,
    location?: string,
  ) {
    this.value = value;
    this.location = location;
  }
}
