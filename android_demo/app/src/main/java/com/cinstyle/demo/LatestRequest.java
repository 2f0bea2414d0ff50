package com.cinstyle.demo;

import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * Runs requests one at a time on an executor, keeping only the newest waiting one: while a request
 * runs, each new one replaces the one waiting, so a burst of taps or slider moves costs at most one
 * more run, with the latest settings. Plain Java (no Android classes), so the host test checks it.
 *
 * @param <T> a request's settings
 */
public final class LatestRequest<T> {
    private final Executor executor;
    private final Consumer<T> handler;
    private final Object lock = new Object();
    private T waiting;         // guarded by lock
    private boolean draining;  // guarded by lock

    public LatestRequest(Executor executor, Consumer<T> handler) {
        this.executor = executor;
        this.handler = handler;
    }

    /** Queues {@code request}, replacing any request that has not started yet. */
    public void submit(T request) {
        synchronized (lock) {
            waiting = request;
            if (draining) return;
            draining = true;
        }
        executor.execute(this::drain);
    }

    /** Whether a request is waiting (one newer than the one running). */
    public boolean hasWaiting() {
        synchronized (lock) {
            return waiting != null;
        }
    }

    private void drain() {
        while (true) {
            T request;
            synchronized (lock) {
                request = waiting;
                waiting = null;
                if (request == null) {
                    draining = false;
                    return;
                }
            }
            handler.accept(request);
        }
    }
}
