/*
 * pxecast e2e checker: a freestanding multiboot kernel that proves which bytes the firmware
 * fetched. iPXE loads it with `kernel` and hands every other fetched image over as a multiboot
 * module; the checker prints one line per module on COM1,
 *
 *   pxecast-checker module=<index> bytes=<length> sha256=<hex> cmdline=<module command line>
 *
 * then "pxecast-checker done modules=<n>", and leaves QEMU through its isa-debug-exit device
 * (iobase 0xf4), so the test reads a log and an exit status instead of trusting the firmware's
 * own "ok" (iPXE's imgfetch can report success with a corrupt image).
 *
 * No libc, no headers: built with `gcc -m32 -ffreestanding` and linked at 1 MiB by checker.ld.
 */

typedef unsigned int u32;
typedef unsigned char u8;

#define MULTIBOOT_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MBI_FLAG_MODULES (1u << 3)
#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

/* Flags 0: we need neither page-aligned modules nor a memory map. */
__attribute__((section(".multiboot"), aligned(4), used))
static const u32 multiboot_header[3] = { MULTIBOOT_MAGIC, 0, (u32)-(MULTIBOOT_MAGIC + 0) };

struct multiboot_info {
  u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};
struct multiboot_module {
  u32 start, end, cmdline, reserved;
};

static inline void outb(unsigned short port, u8 value) {
  __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
static inline u8 inb(unsigned short port) {
  u8 value;
  __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

static void serial_init(void) {
  outb(COM1 + 1, 0x00); /* no interrupts */
  outb(COM1 + 3, 0x80); /* DLAB on */
  outb(COM1 + 0, 0x01); /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
  outb(COM1 + 2, 0xC7); /* FIFO on */
}
static void putc_serial(char c) {
  while ((inb(COM1 + 5) & 0x20) == 0) {
  }
  outb(COM1, (u8)c);
}
static void puts_serial(const char *s) {
  while (*s) putc_serial(*s++);
}
static void put_decimal(u32 v) {
  char buf[11];
  int i = 10;
  buf[i] = 0;
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  puts_serial(&buf[i]);
}
static void put_hex_byte(u8 b) {
  static const char digits[] = "0123456789abcdef";
  putc_serial(digits[b >> 4]);
  putc_serial(digits[b & 15]);
}

/* SHA-256 (FIPS 180-4), one pass over a memory range. */
static const u32 K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(u32 h[8], const u8 *p) {
  u32 w[64], a, b, c, d, e, f, g, k, t1, t2;
  int i;
  for (i = 0; i < 16; i++) w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (i = 16; i < 64; i++) {
    u32 s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    u32 s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; k = h[7];
  for (i = 0; i < 64; i++) {
    t1 = k + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static void sha256(const u8 *data, u32 length, u8 out[32]) {
  u32 h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  u8 tail[128];
  u32 full = length & ~63u, rest = length - full, i, tail_len;
  for (i = 0; i < full; i += 64) sha256_block(h, data + i);
  for (i = 0; i < 128; i++) tail[i] = 0;
  for (i = 0; i < rest; i++) tail[i] = data[full + i];
  tail[rest] = 0x80;
  tail_len = rest < 56 ? 64 : 128;
  /* Bit length, big-endian, in the last 8 bytes (files here are far below 512 MiB). */
  tail[tail_len - 4] = (u8)(length >> 21);
  tail[tail_len - 3] = (u8)(length >> 13);
  tail[tail_len - 2] = (u8)(length >> 5);
  tail[tail_len - 1] = (u8)(length << 3);
  tail[tail_len - 5] = (u8)(length >> 29);
  for (i = 0; i < tail_len; i += 64) sha256_block(h, tail + i);
  for (i = 0; i < 8; i++) {
    out[4 * i] = (u8)(h[i] >> 24);
    out[4 * i + 1] = (u8)(h[i] >> 16);
    out[4 * i + 2] = (u8)(h[i] >> 8);
    out[4 * i + 3] = (u8)h[i];
  }
}

/*
 * Lab images are tagged: every 512-byte block (an MTFTP block) begins with "PXB" and its 0-based
 * index, little-endian. When a module carries the tag, the checker also names the blocks that
 * hold the wrong index, so a bad SHA-256 says which blocks went wrong and what they hold instead.
 */
#define TAG_BLOCK 512u
#define MAX_REPORTED 8u

static int has_tag(const u8 *p) {
  return p[0] == 'P' && p[1] == 'X' && p[2] == 'B';
}

static u32 tag_index(const u8 *p) {
  return (u32)p[3] | (u32)p[4] << 8 | (u32)p[5] << 16 | (u32)p[6] << 24;
}

static void check_tags(u32 module, const u8 *data, u32 length) {
  u32 blocks = length / TAG_BLOCK, i, bad = 0;
  if (length < 8 || !has_tag(data)) return;
  for (i = 0; i < blocks; i++) {
    const u8 *p = data + i * TAG_BLOCK;
    if (has_tag(p) && tag_index(p) == i) continue;
    if (bad++ < MAX_REPORTED) {
      puts_serial("pxecast-checker module=");
      put_decimal(module);
      puts_serial(" wrong-block=");
      put_decimal(i);
      if (has_tag(p)) {
        puts_serial(" holds-block=");
        put_decimal(tag_index(p));
      } else {
        u32 k;
        puts_serial(" holds=untagged first-bytes=");
        for (k = 0; k < 8; k++) put_hex_byte(p[k]);
      }
      putc_serial('\n');
    }
  }
  puts_serial("pxecast-checker module=");
  put_decimal(module);
  puts_serial(" tagged-blocks=");
  put_decimal(blocks);
  puts_serial(" wrong-blocks=");
  put_decimal(bad);
  putc_serial('\n');
}

void checker_main(u32 magic, const struct multiboot_info *mbi) {
  u32 i, j, count = 0;
  serial_init();
  puts_serial("\npxecast-checker start\n");
  if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
    puts_serial("pxecast-checker error=not-multiboot\n");
    outb(DEBUG_EXIT_PORT, 2);
    return;
  }
  if (mbi->flags & MBI_FLAG_MODULES) {
    const struct multiboot_module *mods = (const struct multiboot_module *)mbi->mods_addr;
    count = mbi->mods_count;
    for (i = 0; i < count; i++) {
      u8 digest[32];
      u32 length = mods[i].end - mods[i].start;
      sha256((const u8 *)mods[i].start, length, digest);
      puts_serial("pxecast-checker module=");
      put_decimal(i);
      puts_serial(" bytes=");
      put_decimal(length);
      puts_serial(" sha256=");
      for (j = 0; j < 32; j++) put_hex_byte(digest[j]);
      puts_serial(" cmdline=");
      puts_serial(mods[i].cmdline ? (const char *)mods[i].cmdline : "");
      putc_serial('\n');
      check_tags(i, (const u8 *)mods[i].start, length);
    }
  }
  puts_serial("pxecast-checker done modules=");
  put_decimal(count);
  putc_serial('\n');
  outb(DEBUG_EXIT_PORT, 0); /* QEMU exits with status (0 << 1) | 1 = 1 */
}

/* Entry: the loader jumps here with EAX = magic, EBX = multiboot info, and no stack we may trust.
 * push/popsection keep the compiler's idea of the current section true. */
static u8 checker_stack[65536] __attribute__((aligned(16), used));
__asm__(
  ".pushsection .text\n"
  ".global _start\n"
  "_start:\n"
  "  mov $checker_stack + 65536, %esp\n"
  "  push %ebx\n"
  "  push %eax\n"
  "  call checker_main\n"
  "1: cli\n"
  "  hlt\n"
  "  jmp 1b\n"
  ".popsection\n");
