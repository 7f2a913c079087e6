package org.lifeboat.agent.wiring;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Every object reachable from a root through the fields of Lifeboat's own classes (and of the
 * lambdas and records among them), and through the optionals, collections, maps and arrays they
 * hold. Other libraries' objects are not entered: what they hold of ours (a gauge's function, a
 * server's handler) is reached from our side too.
 */
final class ObjectGraph {

    private static final String OURS = "org.lifeboat.";

    private final Set<Object> reached = Collections.newSetFromMap(new IdentityHashMap<>());

    ObjectGraph(Object root) {
        // A linked list, which takes the nulls that unset fields hold.
        Deque<Object> pending = new LinkedList<>(List.of(root));
        while (!pending.isEmpty()) {
            Object next = pending.pop();
            if (next == null || !reached.add(next)) {
                continue;
            }
            children(next, pending);
        }
    }

    /** The distinct objects reached that are a {@code type}. */
    <T> List<T> instancesOf(Class<T> type) {
        return reached.stream().filter(type::isInstance).map(type::cast).toList();
    }

    /** Every object reached whose class is one of Lifeboat's own (lambdas and records included). */
    List<Object> ours() {
        return reached.stream().filter(object -> object.getClass().getName().startsWith(OURS)).toList();
    }

    private static void children(Object object, Deque<Object> pending) {
        if (object instanceof Optional<?> optional) {
            optional.ifPresent(pending::push);
        } else if (object instanceof Collection<?> collection) {
            collection.forEach(pending::push);
        } else if (object instanceof Map<?, ?> map) {
            map.keySet().forEach(pending::push);
            map.values().forEach(pending::push);
        } else if (object.getClass().isArray() && !object.getClass().getComponentType().isPrimitive()) {
            for (int index = 0; index < Array.getLength(object); index++) {
                pending.push(Array.get(object, index));
            }
        } else if (object.getClass().getName().startsWith(OURS)) {
            for (Class<?> type = object.getClass(); type != null && type.getName().startsWith(OURS); type = type.getSuperclass()) {
                for (Field field : type.getDeclaredFields()) {
                    if (!Modifier.isStatic(field.getModifiers()) && !field.getType().isPrimitive()) {
                        pending.push(read(field, object));
                    }
                }
            }
        }
    }

    private static Object read(Field field, Object object) {
        try {
            field.setAccessible(true);
            return field.get(object);
        } catch (IllegalAccessException e) {
            throw new AssertionError("cannot read " + field, e);
        }
    }
}
