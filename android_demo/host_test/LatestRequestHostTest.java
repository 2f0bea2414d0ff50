import com.cinstyle.demo.LatestRequest;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/** Repeated taps coalesce: while one stylization runs, only the newest waiting request runs next. */
public final class LatestRequestHostTest {
    private static void check(boolean condition, String message) {
        if (!condition) throw new AssertionError(message);
    }

    public static void main(String[] args) throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor();
        CountDownLatch firstStarted = new CountDownLatch(1);
        CountDownLatch releaseFirst = new CountDownLatch(1);
        List<Integer> ran = Collections.synchronizedList(new ArrayList<>());
        LatestRequest<Integer> requests = new LatestRequest<>(worker, request -> {
            ran.add(request);
            if (request == 0) {
                firstStarted.countDown();
                try {
                    releaseFirst.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        requests.submit(0);
        check(firstStarted.await(10, TimeUnit.SECONDS), "the first request did not start");
        for (int i = 1; i <= 50; i++) requests.submit(i);  // a burst while the first runs
        check(requests.hasWaiting(), "the burst left nothing waiting");
        releaseFirst.countDown();
        worker.shutdown();
        check(worker.awaitTermination(10, TimeUnit.SECONDS), "the worker did not finish");
        check(ran.equals(List.of(0, 50)), "expected [0, 50] (the running one, then the newest), ran " + ran);
        check(!requests.hasWaiting(), "a request was left waiting");

        ExecutorService second = Executors.newSingleThreadExecutor();  // spaced requests all run, in order
        List<Integer> each = Collections.synchronizedList(new ArrayList<>());
        LatestRequest<Integer> spaced = new LatestRequest<>(second, each::add);
        for (int i = 0; i < 5; i++) {
            spaced.submit(i);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (each.size() <= i && System.nanoTime() < deadline) Thread.sleep(1);
        }
        second.shutdown();
        check(second.awaitTermination(10, TimeUnit.SECONDS), "the second worker did not finish");
        check(each.equals(List.of(0, 1, 2, 3, 4)), "spaced requests must each run, ran " + each);
        System.out.println("coalescing host test passed");
    }
}
