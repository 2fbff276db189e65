// Type declaration for the part of the `ini` package (v5, CommonJS) that pxecast uses. The package
// ships no types and @types/ini is not a dependency. Only `unsafe` is declared on purpose: `decode`
// loses line numbers and is not to be used (see ini-source.ts).
declare module 'ini' {
  /**
   * Unescapes one ini value: trims it; removes surrounding double quotes (JSON string syntax) or
   * single quotes; otherwise cuts an inline `;`/`#` comment and unescapes `\;`, `\#`, `\\`.
   * Returns `unknown` because the inside of single quotes is JSON-parsed (`'8'` yields the number 8).
   */
  export function unsafe(value?: string): unknown;
}
