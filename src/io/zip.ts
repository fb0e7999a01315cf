// A small zip reader and writer for STORED (uncompressed) entries: what torch.save writes and reads.
// The reader trusts only the central directory (torch.save leaves sizes and CRCs out of the local headers
// and puts them in data descriptors), understands ZIP64 (torch writes ZIP64 end records), and refuses
// compressed entries. The writer aligns each entry's data to 64 bytes with an "FB" extra field, exactly like
// PyTorch's PyTorchStreamWriter, so torch can read (and mmap) storages in place. Pure: no fs.

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  /** Offset of the entry's data in the archive. */
  dataOffset: number;
  size: number;
  crc32: number;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  // Slice-by-8 tables.
  for (let n = 0; n < 256; n++) {
    let c = table[n]!;
    for (let k = 1; k < 8; k++) {
      c = table[c & 0xff]! ^ (c >>> 8);
      table[k * 256 + n] = c >>> 0;
    }
  }
  return table;
})();

/** CRC-32 (the zip/PNG polynomial) of the bytes, continuing from `crc` when given. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const t = CRC_TABLE;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  for (; i + 8 <= n; i += 8) {
    const a = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c =
      t[7 * 256 + (a & 0xff)]! ^
      t[6 * 256 + ((a >>> 8) & 0xff)]! ^
      t[5 * 256 + ((a >>> 16) & 0xff)]! ^
      t[4 * 256 + (a >>> 24)]! ^
      t[3 * 256 + bytes[i + 4]!]! ^
      t[2 * 256 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

/** True when the bytes start like a zip archive (a local header, or an empty archive's end record). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const sig = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24);
  return sig >>> 0 === SIG_LOCAL || sig >>> 0 === SIG_EOCD;
}

export interface ReadZipOptions {
  /** Check each entry's CRC-32 when it is read (default true). */
  verifyCrc?: boolean;
}

/** A read-only view of a zip archive's STORED entries. Throws ZipError for anything it cannot read. */
export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;
  private readonly verified = new Set<string>();

  constructor(
    readonly bytes: Uint8Array,
    private readonly options: ReadZipOptions = {},
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readDirectory();
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry's bytes: a subarray of the archive, not a copy. */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new ZipError(`zip: no entry '${name}'`);
    const data = this.bytes.subarray(e.dataOffset, e.dataOffset + e.size);
    if ((this.options.verifyCrc ?? true) && !this.verified.has(name)) {
      if (crc32(data) !== e.crc32) throw new ZipError(`zip: entry '${name}' is corrupt (CRC-32 mismatch)`);
      this.verified.add(name);
    }
    return data;
  }

  private u16(o: number): number {
    return this.view.getUint16(o, true);
  }
  private u32(o: number): number {
    return this.view.getUint32(o, true);
  }
  private u64(o: number): number {
    const v = this.view.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('zip: 64-bit field too large');
    return Number(v);
  }

  private readDirectory(): void {
    const n = this.bytes.length;
    if (n < 22) throw new ZipError(`zip: only ${n} bytes, too short for a zip archive (truncated?)`);
    // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
    let eocd = -1;
    for (let o = n - 22; o >= Math.max(0, n - 22 - 0xffff); o--) {
      if (this.u32(o) === SIG_EOCD && o + 22 + this.u16(o + 20) <= n) {
        eocd = o;
        break;
      }
    }
    if (eocd < 0) throw new ZipError('zip: no end-of-central-directory record (the file is truncated or not a zip archive)');
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    if (eocd >= 20 && this.u32(eocd - 20) === SIG_EOCD64_LOCATOR) {
      const at = this.u64(eocd - 20 + 8);
      if (at + 56 > n || this.u32(at) !== SIG_EOCD64) throw new ZipError('zip: broken ZIP64 end record');
      count = this.u64(at + 32);
      cdSize = this.u64(at + 40);
      cdOffset = this.u64(at + 48);
    }
    if (cdOffset + cdSize > n) throw new ZipError('zip: central directory lies past the end of the file (truncated?)');
    const utf8 = new TextDecoder('utf-8');
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (p + 46 > n || this.u32(p) !== SIG_CENTRAL) throw new ZipError(`zip: central directory entry ${i} is broken`);
      const method = this.u16(p + 10);
      const crc = this.u32(p + 16);
      let compressed = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let localOffset = this.u32(p + 42);
      if (p + 46 + nameLen + extraLen > n) throw new ZipError(`zip: central directory entry ${i} is truncated`);
      const name = utf8.decode(this.bytes.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: the 64-bit values of exactly the fields that are 0xFFFFFFFF, in order.
      for (let x = p + 46 + nameLen, end = x + extraLen; x + 4 <= end; ) {
        const id = this.u16(x);
        const len = this.u16(x + 2);
        if (id === 0x0001) {
          let q = x + 4;
          if (size === 0xffffffff) (size = this.u64(q)), (q += 8);
          if (compressed === 0xffffffff) (compressed = this.u64(q)), (q += 8);
          if (localOffset === 0xffffffff) localOffset = this.u64(q);
        }
        x += 4 + len;
      }
      if (method !== 0) throw new ZipError(`zip: entry '${name}' is compressed (method ${method}); only stored entries are supported`);
      if (compressed !== size) throw new ZipError(`zip: entry '${name}' has different stored and real sizes`);
      if (localOffset + 30 > n || this.u32(localOffset) !== SIG_LOCAL) {
        throw new ZipError(`zip: local header of '${name}' is missing (truncated?)`);
      }
      const dataOffset = localOffset + 30 + this.u16(localOffset + 26) + this.u16(localOffset + 28);
      if (dataOffset + size > n) throw new ZipError(`zip: data of '${name}' runs past the end of the file (truncated?)`);
      this.entries.set(name, { name, dataOffset, size, crc32: crc });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }
}

export interface ZipWriteEntry {
  name: string;
  data: Uint8Array;
}

export interface WriteZipOptions {
  /** Data alignment in bytes (PyTorch uses 64). 0 or 1 for none. */
  align?: number;
  /** Write ZIP64 records even when the sizes do not need them (for testing readers). */
  forceZip64?: boolean;
}

/** Builds the archive as a list of chunks (headers and the entries' own arrays, not copied). */
export function writeZipChunks(entries: readonly ZipWriteEntry[], options: WriteZipOptions = {}): Uint8Array[] {
  const align = options.align ?? 64;
  const force = options.forceZip64 ?? false;
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  const enc = new TextEncoder();
  let offset = 0;
  const LIMIT = 0xffffffff;

  for (const entry of entries) {
    const name = enc.encode(entry.name);
    const size = entry.data.length;
    const crc = crc32(entry.data);
    const zip64 = force || size >= LIMIT || offset >= LIMIT;
    const z64Len = zip64 ? 4 + 16 : 0; // local ZIP64 extra: real size and compressed size
    // The "FB" padding field takes at least its 4-byte header, then enough 'Z's to align the data.
    const start = offset + 30 + name.length + z64Len + 4;
    const pad = align > 1 ? (align - (start % align)) % align : 0;
    const extraLen = z64Len + 4 + pad;
    const local = new Uint8Array(30 + name.length + extraLen);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, zip64 ? 45 : 20, true); // version needed
    lv.setUint16(6, 0x0800, true); // flags: UTF-8 names
    lv.setUint16(8, 0, true); // stored
    lv.setUint16(10, 0, true); // time
    lv.setUint16(12, 0x21, true); // date: 1980-01-01
    lv.setUint32(14, crc, true);
    lv.setUint32(18, zip64 ? LIMIT : size, true);
    lv.setUint32(22, zip64 ? LIMIT : size, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extraLen, true);
    local.set(name, 30);
    let x = 30 + name.length;
    if (zip64) {
      lv.setUint16(x, 0x0001, true);
      lv.setUint16(x + 2, 16, true);
      lv.setBigUint64(x + 4, BigInt(size), true);
      lv.setBigUint64(x + 12, BigInt(size), true);
      x += z64Len;
    }
    lv.setUint16(x, 0x4246, true); // "FB"
    lv.setUint16(x + 2, pad, true);
    local.fill(0x5a, x + 4, x + 4 + pad); // 'Z'
    chunks.push(local, entry.data);

    // Central directory record.
    const cz64 = zip64 ? 4 + 24 : 0;
    const cen = new Uint8Array(46 + name.length + cz64);
    const cv = new DataView(cen.buffer);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, zip64 ? 45 : 20, true); // version made by (MS-DOS, 2.0 / 4.5)
    cv.setUint16(6, zip64 ? 45 : 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint16(10, 0, true);
    cv.setUint16(12, 0, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, zip64 ? LIMIT : size, true);
    cv.setUint32(24, zip64 ? LIMIT : size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, cz64, true);
    cv.setUint32(42, zip64 ? LIMIT : offset, true);
    cen.set(name, 46);
    if (zip64) {
      const q = 46 + name.length;
      cv.setUint16(q, 0x0001, true);
      cv.setUint16(q + 2, 24, true);
      cv.setBigUint64(q + 4, BigInt(size), true);
      cv.setBigUint64(q + 12, BigInt(size), true);
      cv.setBigUint64(q + 20, BigInt(offset), true);
    }
    central.push(cen);
    offset += local.length + size;
  }

  const cdOffset = offset;
  let cdSize = 0;
  for (const c of central) {
    chunks.push(c);
    cdSize += c.length;
  }
  const count = entries.length;
  const zip64End = force || count >= 0xffff || cdOffset >= LIMIT || cdSize >= LIMIT;
  if (zip64End) {
    const rec = new Uint8Array(56 + 20);
    const rv = new DataView(rec.buffer);
    rv.setUint32(0, SIG_EOCD64, true);
    rv.setBigUint64(4, 44n, true); // size of the rest of the record
    rv.setUint16(12, 45, true);
    rv.setUint16(14, 45, true);
    rv.setBigUint64(24, BigInt(count), true);
    rv.setBigUint64(32, BigInt(count), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOffset), true);
    rv.setUint32(56, SIG_EOCD64_LOCATOR, true);
    rv.setBigUint64(56 + 8, BigInt(cdOffset + cdSize), true);
    rv.setUint32(56 + 16, 1, true); // total disks
    chunks.push(rec);
  }
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, zip64End ? 0xffff : count, true);
  ev.setUint16(10, zip64End ? 0xffff : count, true);
  ev.setUint32(12, zip64End ? LIMIT : cdSize, true);
  ev.setUint32(16, zip64End ? LIMIT : cdOffset, true);
  chunks.push(end);
  return chunks;
}

/** Concatenates chunks into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** The whole archive in one array. */
export function writeZip(entries: readonly ZipWriteEntry[], options: WriteZipOptions = {}): Uint8Array {
  return concatBytes(writeZipChunks(entries, options));
}
