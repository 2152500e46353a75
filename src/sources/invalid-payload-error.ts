/** Authentic JSON that does not fit the schema: answered 202, never 4xx (SPEC section 4). */
export class InvalidPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPayloadError';
  }
}
