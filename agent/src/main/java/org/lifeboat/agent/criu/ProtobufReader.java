package org.lifeboat.agent.criu;

import java.io.IOException;

/**
 * Reads the protobuf wire format, just enough of it for CRIU's statistics images: varints and
 * nested messages, with every other wire type skipped. The agent needs a handful of numbers from
 * two tiny files; the protobuf runtime and generated code for CRIU's schemas would be far more
 * than that is worth. Every read is bounds-checked: a truncated or corrupt image is an
 * IOException, never a wrong number.
 */
final class ProtobufReader {

    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;
    private static final int MAX_VARINT_BYTES = 10;

    private final byte[] bytes;
    private final int end;
    private int position;

    ProtobufReader(byte[] bytes) {
        this(bytes, 0, bytes.length);
    }

    private ProtobufReader(byte[] bytes, int start, int end) {
        this.bytes = bytes;
        this.position = start;
        this.end = end;
    }

    boolean hasMore() {
        return position < end;
    }

    /** The next field's key: its number and wire type. */
    Key nextKey() throws IOException {
        long key = readVarint();
        long field = key >>> 3;
        if (field < 1 || field > Integer.MAX_VALUE) {
            throw new IOException("invalid field number " + field + " at byte " + position);
        }
        return new Key((int) field, (int) (key & 0x7));
    }

    long readVarint() throws IOException {
        long value = 0;
        for (int index = 0; index < MAX_VARINT_BYTES; index++) {
            if (position >= end) {
                throw new IOException("varint cut off at byte " + position);
            }
            byte next = bytes[position++];
            value |= (long) (next & 0x7F) << (7 * index);
            if ((next & 0x80) == 0) {
                return value;
            }
        }
        throw new IOException("varint longer than " + MAX_VARINT_BYTES + " bytes at byte " + position);
    }

    /** A reader over the length-delimited field that follows: a nested message. */
    ProtobufReader readMessage() throws IOException {
        int length = readLength();
        ProtobufReader nested = new ProtobufReader(bytes, position, position + length);
        position += length;
        return nested;
    }

    /** Skips the value of a field of the given wire type, for fields this reader does not know. */
    void skip(int wireType) throws IOException {
        switch (wireType) {
            case VARINT -> readVarint();
            case FIXED64 -> advance(8);
            case LENGTH_DELIMITED -> advance(readLength());
            case FIXED32 -> advance(4);
            default -> throw new IOException("unsupported wire type " + wireType + " before byte " + position);
        }
    }

    private int readLength() throws IOException {
        long length = readVarint();
        // Unsigned on the wire: a 64-bit length reads as negative here.
        if (length < 0 || length > end - position) {
            throw new IOException("a field of " + length + " bytes at byte " + position + " runs past the end (" + end + ")");
        }
        return (int) length;
    }

    private void advance(int count) throws IOException {
        if (count > end - position) {
            throw new IOException("a field of " + count + " bytes at byte " + position + " runs past the end (" + end + ")");
        }
        position += count;
    }

    record Key(int field, int wireType) {}
}
