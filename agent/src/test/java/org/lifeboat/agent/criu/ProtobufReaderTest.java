package org.lifeboat.agent.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class ProtobufReaderTest {

    @Test
    void readsVarintsOfOneToTenBytes() throws Exception {
        assertEquals(0, new ProtobufReader(bytes(0x00)).readVarint());
        assertEquals(1, new ProtobufReader(bytes(0x01)).readVarint());
        assertEquals(127, new ProtobufReader(bytes(0x7F)).readVarint());
        // The protobuf documentation's example: 150 is 0x96 0x01.
        assertEquals(150, new ProtobufReader(bytes(0x96, 0x01)).readVarint());
        assertEquals(300, new ProtobufReader(bytes(0xAC, 0x02)).readVarint());
        assertEquals(0xFFFF_FFFFL, new ProtobufReader(bytes(0xFF, 0xFF, 0xFF, 0xFF, 0x0F)).readVarint());
        assertEquals(-1L, new ProtobufReader(bytes(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01)).readVarint());
    }

    @Test
    void readsKeysAsFieldNumberAndWireType() throws Exception {
        ProtobufReader reader = new ProtobufReader(bytes(0x08, 0x96, 0x01, 0x12, 0x00, 0x78, 0x05));

        assertEquals(new ProtobufReader.Key(1, ProtobufReader.VARINT), reader.nextKey());
        assertEquals(150, reader.readVarint());
        assertEquals(new ProtobufReader.Key(2, ProtobufReader.LENGTH_DELIMITED), reader.nextKey());
        assertFalse(reader.readMessage().hasMore());
        assertEquals(new ProtobufReader.Key(15, ProtobufReader.VARINT), reader.nextKey());
        assertEquals(5, reader.readVarint());
        assertFalse(reader.hasMore());
    }

    @Test
    void aNestedMessageEndsWhereItsLengthSays() throws Exception {
        // field 1: a 4-byte message {field 1 = 3, field 2 = 4}; then field 2 = 9 outside it.
        ProtobufReader reader = new ProtobufReader(bytes(0x0A, 0x04, 0x08, 0x03, 0x10, 0x04, 0x10, 0x09));

        reader.nextKey();
        ProtobufReader nested = reader.readMessage();

        assertEquals(1, nested.nextKey().field());
        assertEquals(3, nested.readVarint());
        assertEquals(2, nested.nextKey().field());
        assertEquals(4, nested.readVarint());
        assertFalse(nested.hasMore());
        assertEquals(2, reader.nextKey().field());
        assertEquals(9, reader.readVarint());
    }

    @Test
    void skipsEveryWireTypeItKnows() throws Exception {
        ProtobufReader reader = new ProtobufReader(bytes(
                0x08, 0xAC, 0x02, // 1: varint
                0x11, 1, 2, 3, 4, 5, 6, 7, 8, // 2: fixed64
                0x1A, 0x02, 0xAA, 0xBB, // 3: 2 bytes
                0x25, 1, 2, 3, 4, // 4: fixed32
                0x28, 0x07)); // 5: varint 7

        for (int wireType : new int[] {ProtobufReader.VARINT, ProtobufReader.FIXED64, ProtobufReader.LENGTH_DELIMITED,
                ProtobufReader.FIXED32}) {
            assertEquals(wireType, reader.nextKey().wireType());
            reader.skip(wireType);
        }

        assertEquals(5, reader.nextKey().field());
        assertEquals(7, reader.readVarint());
        assertFalse(reader.hasMore());
    }

    @Test
    void truncatedInputIsAnErrorNotANumber() {
        assertThrows(IOException.class, () -> new ProtobufReader(bytes(0x96)).readVarint());
        assertThrows(IOException.class, () -> new ProtobufReader(bytes()).readVarint());
        ProtobufReader shortMessage = new ProtobufReader(bytes(0x0A, 0x05, 0x08, 0x01));
        assertThrows(IOException.class, () -> {
            shortMessage.nextKey();
            shortMessage.readMessage();
        });
        ProtobufReader shortFixed = new ProtobufReader(bytes(0x11, 1, 2, 3));
        assertThrows(IOException.class, () -> shortFixed.skip(shortFixed.nextKey().wireType()));
    }

    @Test
    void overlongVarintsFieldZeroAndGroupsAreRejected() throws Exception {
        IOException overlong = assertThrows(IOException.class,
                () -> new ProtobufReader(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).readVarint());
        assertTrue(overlong.getMessage().contains("longer than 10 bytes"), overlong.getMessage());
        assertThrows(IOException.class, () -> new ProtobufReader(bytes(0x00)).nextKey());
        ProtobufReader group = new ProtobufReader(bytes(0x0B));
        assertThrows(IOException.class, () -> group.skip(group.nextKey().wireType()));
    }

    @Test
    void aHugeLengthIsRejectedBeforeAnythingIsAllocated() {
        // A length of 2^35 would not even fit an int.
        ProtobufReader reader = new ProtobufReader(bytes(0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
        IOException error = assertThrows(IOException.class, () -> {
            reader.nextKey();
            reader.readMessage();
        });
        assertTrue(error.getMessage().contains("runs past the end"), error.getMessage());
        // 2^64 - 1, which a signed long holds as -1.
        ProtobufReader negative = new ProtobufReader(bytes(0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01));
        assertThrows(IOException.class, () -> {
            negative.nextKey();
            negative.readMessage();
        });
    }

    static byte[] bytes(int... values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = (byte) values[i];
        }
        return bytes;
    }
}
