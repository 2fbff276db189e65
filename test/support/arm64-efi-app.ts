// A minimal UEFI application for ARM64 (PE32+, machine 0xAA64), generated at test time: Debian
// ships no ARM64 EFI binary we could serve, and no cross compiler. The e2e test serves it to
// AAVMF (EDK2 for AArch64) and reads what it prints on the serial console.
//
// What it does, so the console proves the bytes and not only that something ran: it computes the
// 32-bit FNV-1a of its whole loaded section (code, message, payload), writes it as 8 hex digits
// into a UTF-16 buffer on its stack and prints, through SystemTable->ConOut->OutputString,
//   pxecast-arm64 nonce=<nonce> fnv1a32=<8 hex digits>
// then returns EFI_SUCCESS. The payload is a few hundred KiB of random bytes in the section, so
// a transfer of the image spans many TFTP blocks; the test computes the same FNV-1a in TypeScript
// (`expectedChecksum`) and compares. The nonce (per run) rules out a stale image or console.
//
// Image layout (file offset -> RVA):
//   0x000  DOS header ("MZ", e_lfanew = 0x40)   | headers, SizeOfHeaders = 0x200
//   0x040  "PE\0\0", COFF header, PE32+ optional header (16 data directories, all empty: the code
//          is position independent, so no base relocations are needed and RELOCS_STRIPPED is
//          left clear, which lets EDK2 load the image at any address)
//   0x148  one section header ".text": code | execute | read (the app writes only to its stack)
//   0x200  -> RVA 0x1000: code, then the literal (section length), the UTF-16 message, payload
//
// Every instruction is hand-encoded below by a small encoder per instruction form, with the
// assembly it stands for beside it (checked against llvm-mc -triple=aarch64 when written).

const FILE_ALIGNMENT = 0x200;
const SECTION_ALIGNMENT = 0x1000;
const SECTION_RVA = 0x1000;
const MACHINE_ARM64 = 0xaa64;
const SUBSYSTEM_EFI_APPLICATION = 10;
const EFI_SYSTEM_TABLE_CONOUT = 64; // Hdr (24) FirmwareVendor FirmwareRevision(+pad) ConsoleInHandle ConIn ConsoleOutHandle
const SIMPLE_TEXT_OUTPUT_STRING = 8; // Reset, then OutputString
export const FNV1A32_OFFSET_BASIS = 0x811c9dc5;
export const FNV1A32_PRIME = 0x01000193;

export interface Arm64EfiApp {
  /** The PE32+ file. */
  readonly image: Buffer;
  /** FNV-1a (32 bits) of the loaded section, as the app prints it: 8 lowercase hex digits. */
  readonly expectedChecksum: string;
  /** The whole line the app prints (without CR LF). */
  readonly expectedLine: string;
}

/** 32-bit FNV-1a, the same arithmetic as the app's loop (multiply modulo 2^32). */
export function fnv1a32(data: Buffer): number {
  let h = FNV1A32_OFFSET_BASIS;
  for (const byte of data) h = Math.imul(h ^ byte, FNV1A32_PRIME) >>> 0;
  return h;
}

/** What the app printed, if its line is on the console: the nonce and the checksum. */
export function parseArm64Proof(console: string): { readonly nonce: string; readonly checksum: string } | null {
  const m = /pxecast-arm64 nonce=([0-9a-z]+) fnv1a32=([0-9a-f]{8})\r?\n/.exec(console);
  return m ? { nonce: m[1]!, checksum: m[2]! } : null;
}

// --- AArch64 encoders (A64, ARM DDI 0487). Registers by number; 31 is sp or xzr/wzr by form. ---

type Reg = number;
const SP = 31;
const ZR = 31;
const X = (n: number): Reg => n;

function field(value: number, bits: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) throw new Error(`${what} ${value} does not fit ${bits} bits`);
  return value;
}
/** Two's complement of `value` in `bits` bits (PC-relative and signed offsets). */
function signed(value: number, bits: number, what: string): number {
  if (!Number.isInteger(value) || value < -(2 ** (bits - 1)) || value >= 2 ** (bits - 1)) throw new Error(`${what} ${value} out of range`);
  return value < 0 ? value + 2 ** bits : value;
}
const word = (n: number): number => n >>> 0;

const A64 = {
  /** stp xT, xT2, [xN, #imm]!  (pre-index, 64-bit pair) */
  stpPre: (t: Reg, t2: Reg, n: Reg, imm: number) => word(0xa9800000 | (signed(imm / 8, 7, 'stp') << 15) | (t2 << 10) | (n << 5) | t),
  /** stp xT, xT2, [xN, #imm]  (signed offset) */
  stp: (t: Reg, t2: Reg, n: Reg, imm: number) => word(0xa9000000 | (signed(imm / 8, 7, 'stp') << 15) | (t2 << 10) | (n << 5) | t),
  /** ldp xT, xT2, [xN, #imm]  (signed offset) */
  ldp: (t: Reg, t2: Reg, n: Reg, imm: number) => word(0xa9400000 | (signed(imm / 8, 7, 'ldp') << 15) | (t2 << 10) | (n << 5) | t),
  /** ldp xT, xT2, [xN], #imm  (post-index) */
  ldpPost: (t: Reg, t2: Reg, n: Reg, imm: number) => word(0xa8c00000 | (signed(imm / 8, 7, 'ldp') << 15) | (t2 << 10) | (n << 5) | t),
  /** add xD, xN, #imm  (also `mov xD, sp` / `mov sp, xN` with imm 0) */
  addX: (d: Reg, n: Reg, imm: number) => word(0x91000000 | (field(imm, 12, 'add') << 10) | (n << 5) | d),
  /** sub xD, xN, #imm */
  subX: (d: Reg, n: Reg, imm: number) => word(0xd1000000 | (field(imm, 12, 'sub') << 10) | (n << 5) | d),
  /** add wD, wN, #imm */
  addW: (d: Reg, n: Reg, imm: number) => word(0x11000000 | (field(imm, 12, 'add') << 10) | (n << 5) | d),
  /** sub wD, wN, #imm */
  subW: (d: Reg, n: Reg, imm: number) => word(0x51000000 | (field(imm, 12, 'sub') << 10) | (n << 5) | d),
  /** cmp wN, #imm  (subs wzr, wN, #imm) */
  cmpW: (n: Reg, imm: number) => word(0x71000000 | (field(imm, 12, 'cmp') << 10) | (n << 5) | ZR),
  /** ldr xT, [xN, #imm]  (unsigned offset, scaled by 8) */
  ldrX: (t: Reg, n: Reg, imm: number) => word(0xf9400000 | (field(imm / 8, 12, 'ldr') << 10) | (n << 5) | t),
  /** ldr wT, <label>  (PC-relative literal, word-aligned) */
  ldrLitW: (t: Reg, offset: number) => word(0x18000000 | (signed(offset / 4, 19, 'ldr literal') << 5) | t),
  /** adr xD, <label>  (PC-relative, +-1 MiB) */
  adr: (d: Reg, offset: number) => {
    const imm = signed(offset, 21, 'adr');
    return word(0x10000000 | ((imm & 3) << 29) | ((imm >>> 2) << 5) | d);
  },
  /** movz wD, #imm16, lsl #(16*hw) ; sf=1 for xD */
  movz: (sf: 0 | 1, d: Reg, imm16: number, hw = 0) => word((sf ? 0xd2800000 : 0x52800000) | (hw << 21) | (field(imm16, 16, 'movz') << 5) | d),
  /** movk wD, #imm16, lsl #(16*hw) */
  movkW: (d: Reg, imm16: number, hw: number) => word(0x72800000 | (hw << 21) | (field(imm16, 16, 'movk') << 5) | d),
  /** cbz / cbnz wT, <label> */
  cbzW: (t: Reg, offset: number) => word(0x34000000 | (signed(offset / 4, 19, 'cbz') << 5) | t),
  cbnzW: (t: Reg, offset: number) => word(0x35000000 | (signed(offset / 4, 19, 'cbnz') << 5) | t),
  /** b <label> */
  b: (offset: number) => word(0x14000000 | signed(offset / 4, 26, 'b')),
  /** ldrb wT, [xN], #imm  (post-index) */
  ldrbPost: (t: Reg, n: Reg, imm: number) => word(0x38400400 | (signed(imm, 9, 'ldrb') << 12) | (n << 5) | t),
  /** strh wT, [xN], #imm  (post-index) */
  strhPost: (t: Reg, n: Reg, imm: number) => word(0x78000400 | (signed(imm, 9, 'strh') << 12) | (n << 5) | t),
  /** strh wT, [xN]  (unsigned offset 0) */
  strh: (t: Reg, n: Reg) => word(0x79000000 | (n << 5) | t),
  /** eor wD, wN, wM */
  eorW: (d: Reg, n: Reg, m: Reg) => word(0x4a000000 | (m << 16) | (n << 5) | d),
  /** mul wD, wN, wM  (madd wD, wN, wM, wzr) */
  mulW: (d: Reg, n: Reg, m: Reg) => word(0x1b007c00 | (m << 16) | (n << 5) | d),
  /** lsr wD, wN, #shift  (ubfm wD, wN, #shift, #31) */
  lsrW: (d: Reg, n: Reg, shift: number) => word(0x53007c00 | (field(shift, 5, 'lsr') << 16) | (n << 5) | d),
  /** lsl wD, wN, #shift  (ubfm wD, wN, #(32-shift), #(31-shift)) */
  lslW: (d: Reg, n: Reg, shift: number) => word(0x53000000 | (field(32 - shift, 5, 'lsl') << 16) | (field(31 - shift, 5, 'lsl') << 10) | (n << 5) | d),
  /** csel wD, wN, wM, lo  (unsigned lower: carry clear, condition 3) */
  cselLoW: (d: Reg, n: Reg, m: Reg) => word(0x1a800000 | (m << 16) | (3 << 12) | (n << 5) | d),
  /** mov xD, xM  (orr xD, xzr, xM) */
  movX: (d: Reg, m: Reg) => word(0xaa0003e0 | (m << 16) | d),
  /** blr xN */
  blr: (n: Reg) => word(0xd63f0000 | (n << 5)),
  /** ret  (x30) */
  ret: () => 0xd65f03c0,
};

/** One instruction: its assembly (for the reader and for checking) and its encoding at `pc`. */
interface Insn {
  readonly asm: string;
  readonly encode: (pc: number, label: (name: string) => number) => number;
}
type Line = Insn | { readonly label: string };

/**
 * The program. Entry: x0 = ImageHandle, x1 = SystemTable, x30 = return address (AAPCS64, as UEFI
 * calls it). Uses x2-x11 as scratch and x19 (callee-saved, so saved and restored) for ConOut.
 */
function program(): Line[] {
  const at = (asm: string, encode: Insn['encode']): Insn => ({ asm, encode });
  const rel = (name: string) => (pc: number, label: (n: string) => number) => label(name) - pc;
  const OUT_BUFFER = 32; // 8 digits + CR LF + NUL = 11 UTF-16 units = 22 bytes; sp stays 16-aligned
  return [
    { label: 'start' },
    at('stp x29, x30, [sp, #-32]!', () => A64.stpPre(X(29), X(30), SP, -32)),
    at('stp x19, x20, [sp, #16]', () => A64.stp(X(19), X(20), SP, 16)),
    at('mov x29, sp', () => A64.addX(X(29), SP, 0)),
    at(`sub sp, sp, #${OUT_BUFFER}`, () => A64.subX(SP, SP, OUT_BUFFER)),
    at(`ldr x19, [x1, #${EFI_SYSTEM_TABLE_CONOUT}]`, () => A64.ldrX(X(19), X(1), EFI_SYSTEM_TABLE_CONOUT)),
    // FNV-1a over the section: x2 = next byte, w3 = bytes left, w4 = hash, w5 = prime.
    at('adr x2, start', (pc, l) => A64.adr(X(2), rel('start')(pc, l))),
    at('ldr w3, length', (pc, l) => A64.ldrLitW(X(3), rel('length')(pc, l))),
    at('mov w4, #0x9dc5', () => A64.movz(0, X(4), FNV1A32_OFFSET_BASIS & 0xffff)),
    at('movk w4, #0x811c, lsl #16', () => A64.movkW(X(4), FNV1A32_OFFSET_BASIS >>> 16, 1)),
    at('mov w5, #0x193', () => A64.movz(0, X(5), FNV1A32_PRIME & 0xffff)),
    at('movk w5, #0x100, lsl #16', () => A64.movkW(X(5), FNV1A32_PRIME >>> 16, 1)),
    { label: 'sum' },
    at('cbz w3, hex_start', (pc, l) => A64.cbzW(X(3), rel('hex_start')(pc, l))),
    at('ldrb w6, [x2], #1', () => A64.ldrbPost(X(6), X(2), 1)),
    at('eor w4, w4, w6', () => A64.eorW(X(4), X(4), X(6))),
    at('mul w4, w4, w5', () => A64.mulW(X(4), X(4), X(5))),
    at('sub w3, w3, #1', () => A64.subW(X(3), X(3), 1)),
    at('b sum', (pc, l) => A64.b(rel('sum')(pc, l))),
    // Eight hex digits, most significant first, as UTF-16 at sp: x7 = next unit, w8 = digits left.
    { label: 'hex_start' },
    at('mov x7, sp', () => A64.addX(X(7), SP, 0)),
    at('mov w8, #8', () => A64.movz(0, X(8), 8)),
    { label: 'hex' },
    at('lsr w9, w4, #28', () => A64.lsrW(X(9), X(4), 28)),
    at("add w10, w9, #48", () => A64.addW(X(10), X(9), 0x30)), // '0' + d
    at("add w11, w9, #87", () => A64.addW(X(11), X(9), 0x61 - 10)), // 'a' + d - 10
    at('cmp w9, #10', () => A64.cmpW(X(9), 10)),
    at('csel w9, w10, w11, lo', () => A64.cselLoW(X(9), X(10), X(11))),
    at('strh w9, [x7], #2', () => A64.strhPost(X(9), X(7), 2)),
    at('lsl w4, w4, #4', () => A64.lslW(X(4), X(4), 4)),
    at('sub w8, w8, #1', () => A64.subW(X(8), X(8), 1)),
    at('cbnz w8, hex', (pc, l) => A64.cbnzW(X(8), rel('hex')(pc, l))),
    at('mov w9, #13', () => A64.movz(0, X(9), 13)),
    at('strh w9, [x7], #2', () => A64.strhPost(X(9), X(7), 2)),
    at('mov w9, #10', () => A64.movz(0, X(9), 10)),
    at('strh w9, [x7], #2', () => A64.strhPost(X(9), X(7), 2)),
    at('strh wzr, [x7]', () => A64.strh(ZR, X(7))),
    // ConOut->OutputString(ConOut, message), then (ConOut, digits).
    at('mov x0, x19', () => A64.movX(X(0), X(19))),
    at('adr x1, message', (pc, l) => A64.adr(X(1), rel('message')(pc, l))),
    at(`ldr x9, [x19, #${SIMPLE_TEXT_OUTPUT_STRING}]`, () => A64.ldrX(X(9), X(19), SIMPLE_TEXT_OUTPUT_STRING)),
    at('blr x9', () => A64.blr(X(9))),
    at('mov x0, x19', () => A64.movX(X(0), X(19))),
    at('mov x1, sp', () => A64.addX(X(1), SP, 0)),
    at(`ldr x9, [x19, #${SIMPLE_TEXT_OUTPUT_STRING}]`, () => A64.ldrX(X(9), X(19), SIMPLE_TEXT_OUTPUT_STRING)),
    at('blr x9', () => A64.blr(X(9))),
    // return EFI_SUCCESS
    at('mov x0, #0', () => A64.movz(1, X(0), 0)),
    at('mov sp, x29', () => A64.addX(SP, X(29), 0)),
    at('ldp x19, x20, [sp, #16]', () => A64.ldp(X(19), X(20), SP, 16)),
    at('ldp x29, x30, [sp], #32', () => A64.ldpPost(X(29), X(30), SP, 32)),
    at('ret', () => A64.ret()),
  ];
}

/** The code as assembly text, one instruction a line (what `llvm-mc -triple=aarch64` checks). */
export function arm64AppAssembly(): string {
  return program().map((line) => ('label' in line ? `${line.label}:` : `  ${line.asm}`)).join('\n');
}

/**
 * Builds the application: `nonce` (lowercase letters and digits) goes into the printed line,
 * `payload` after the code and message; the checksum covers the whole section.
 */
export function buildArm64EfiApp(nonce: string, payload: Buffer): Arm64EfiApp {
  if (!/^[0-9a-z]{1,32}$/.test(nonce)) throw new Error(`nonce '${nonce}': 1-32 lowercase letters or digits`);
  const lines = program();
  const codeBytes = lines.filter((l) => !('label' in l)).length * 4;
  const messageText = `pxecast-arm64 nonce=${nonce} fnv1a32=`;
  // Section: code | length (u32) | message (UTF-16LE, NUL-terminated) | payload.
  const labels = new Map<string, number>();
  let pc = 0;
  for (const line of lines) {
    if ('label' in line) labels.set(line.label, pc);
    else pc += 4;
  }
  labels.set('length', codeBytes);
  labels.set('message', codeBytes + 4);
  const message = Buffer.from(`${messageText}\0`, 'utf16le');
  const sectionLength = codeBytes + 4 + message.length + payload.length;
  const section = Buffer.alloc(sectionLength);
  const label = (name: string): number => {
    const at = labels.get(name);
    if (at === undefined) throw new Error(`no label ${name}`);
    return at;
  };
  pc = 0;
  for (const line of lines) {
    if ('label' in line) continue;
    section.writeUInt32LE(line.encode(pc, label), pc);
    pc += 4;
  }
  section.writeUInt32LE(sectionLength, codeBytes);
  message.copy(section, codeBytes + 4);
  payload.copy(section, codeBytes + 4 + message.length);

  const image = Buffer.concat([peHeaders(sectionLength), section, Buffer.alloc(alignUp(sectionLength, FILE_ALIGNMENT) - sectionLength)]);
  const checksum = fnv1a32(section).toString(16).padStart(8, '0');
  return { image, expectedChecksum: checksum, expectedLine: `${messageText}${checksum}` };
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** DOS stub header, PE signature, COFF header, PE32+ optional header and the one section header. */
function peHeaders(sectionLength: number): Buffer {
  const h = Buffer.alloc(FILE_ALIGNMENT); // SizeOfHeaders: everything below fits in 0x170 bytes
  h.write('MZ', 0, 'latin1');
  h.writeUInt32LE(0x40, 0x3c); // e_lfanew
  h.write('PE\0\0', 0x40, 'latin1');
  const coff = 0x44;
  h.writeUInt16LE(MACHINE_ARM64, coff);
  h.writeUInt16LE(1, coff + 2); // NumberOfSections
  h.writeUInt16LE(240, coff + 16); // SizeOfOptionalHeader: 112 + 16 data directories * 8
  h.writeUInt16LE(0x0022, coff + 18); // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE (relocatable: RELOCS_STRIPPED clear)
  const opt = coff + 20;
  const rawSize = alignUp(sectionLength, FILE_ALIGNMENT);
  h.writeUInt16LE(0x20b, opt); // PE32+
  h.writeUInt32LE(rawSize, opt + 4); // SizeOfCode
  h.writeUInt32LE(SECTION_RVA, opt + 16); // AddressOfEntryPoint: the first instruction
  h.writeUInt32LE(SECTION_RVA, opt + 20); // BaseOfCode
  h.writeBigUInt64LE(0n, opt + 24); // ImageBase (the loader picks the address)
  h.writeUInt32LE(SECTION_ALIGNMENT, opt + 32);
  h.writeUInt32LE(FILE_ALIGNMENT, opt + 36);
  h.writeUInt32LE(SECTION_RVA + alignUp(sectionLength, SECTION_ALIGNMENT), opt + 56); // SizeOfImage
  h.writeUInt32LE(FILE_ALIGNMENT, opt + 60); // SizeOfHeaders
  h.writeUInt16LE(SUBSYSTEM_EFI_APPLICATION, opt + 68);
  h.writeUInt32LE(16, opt + 108); // NumberOfRvaAndSizes; the 16 directories stay zero
  const sec = opt + 240;
  h.write('.text', sec, 'latin1');
  h.writeUInt32LE(sectionLength, sec + 8); // VirtualSize
  h.writeUInt32LE(SECTION_RVA, sec + 12); // VirtualAddress
  h.writeUInt32LE(rawSize, sec + 16); // SizeOfRawData
  h.writeUInt32LE(FILE_ALIGNMENT, sec + 20); // PointerToRawData
  h.writeUInt32LE(0x60000020, sec + 36); // CNT_CODE | MEM_EXECUTE | MEM_READ
  return h;
}
