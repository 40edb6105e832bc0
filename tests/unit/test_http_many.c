/* test_http_many: cw_http_do_many, the curl multi driver: order, failures among
 * successes, the limit in flight counted by the server, waits and pace shared. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cw/core/clock.h"
#include "cw/net/http.h"

/*
 * A loopback server on threads of this process, a thread a connection, one
 * request a connection. The path says what to do: /ok/ID/MS holds the
 * request MS ms and answers 200 with ID as the body; /drop/ID reads it and
 * closes; /limit/ID answers the first request for ID 429 with Retry-After: 1
 * and later ones as /ok/ID/0; /500/ID answers 500. It counts the requests
 * under way at once and keeps, per request, its id and when it came and left
 * (cw_monotonic_ms, the clock the gate uses).
 */
#define MAXREQ 128

struct seen {
	char id[32];
	int status;             /* 0: dropped */
	long long start, end;
};

struct server {
	int lfd, port, stop;
	pthread_t listener;
	pthread_t conn[MAXREQ];
	int nconn;
	pthread_mutex_t mu;
	int now, max;           /* requests under way, and the most at once */
	struct seen log[MAXREQ];
	int nlog;
	int limited;            /* a /limit/ request was answered 429 */
};

struct conn {
	struct server *sv;
	int fd;
};

static void
reply(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one request's head and body; its path into path. 0 at EOF. */
static int
read_request(int fd, char *path, size_t size)
{
	char buf[8192], *end, *cl;
	size_t len = 0;
	ssize_t r;
	long want;

	for (;;) {
		if (len == sizeof(buf) - 1 || (r = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			return 0;
		len += (size_t)r;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	if (sscanf(buf, "%*s %255s", path) != 1 || size < 256)
		return 0;
	cl = strcasestr(buf, "\r\nContent-Length:");
	want = cl != NULL && cl < end ? strtol(cl + 17, NULL, 10) : 0;
	want -= (long)(len - (size_t)(end + 4 - buf));
	while (want > 0 && (r = read(fd, buf, sizeof(buf))) > 0)
		want -= r;
	return 1;
}

/* One request is over: no longer counted, logged. Called before the answer
 * goes out: once the client has it, its next request must not overlap it. */
static void
leave(struct server *sv, const char *id, int status, long long start)
{
	pthread_mutex_lock(&sv->mu);
	sv->now--;
	if (sv->nlog < MAXREQ) {
		snprintf(sv->log[sv->nlog].id, sizeof(sv->log[0].id), "%s", id);
		sv->log[sv->nlog].status = status;
		sv->log[sv->nlog].start = start;
		sv->log[sv->nlog++].end = cw_monotonic_ms();
	}
	pthread_mutex_unlock(&sv->mu);
}

static void
answer(struct server *sv, int fd, const char *kind, const char *id, long ms, long long start)
{
	char out[256];
	int limit = 0;

	if (strcmp(kind, "limit") == 0) {
		pthread_mutex_lock(&sv->mu);
		limit = !sv->limited;
		sv->limited = 1;
		pthread_mutex_unlock(&sv->mu);
	}
	if (limit) {
		leave(sv, id, 429, start);
		reply(fd, "HTTP/1.1 429 Slow down\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n");
	} else if (strcmp(kind, "drop") == 0) {
		leave(sv, id, 0, start);
	} else if (strcmp(kind, "500") == 0) {
		leave(sv, id, 500, start);
		reply(fd, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	} else {
		usleep((useconds_t)ms * 1000);
		leave(sv, id, 200, start);
		snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s", strlen(id), id);
		reply(fd, out);
	}
}

static void *
serve_conn(void *arg)
{
	struct conn *c = arg;
	struct server *sv = c->sv;
	char path[256], kind[16] = "", id[32] = "";
	long ms = 0;
	long long start;

	if (read_request(c->fd, path, sizeof(path))) {
		pthread_mutex_lock(&sv->mu);
		if (++sv->now > sv->max)
			sv->max = sv->now;
		pthread_mutex_unlock(&sv->mu);
		start = cw_monotonic_ms();
		sscanf(path, "/%15[^/]/%31[^/]/%ld", kind, id, &ms);
		answer(sv, c->fd, kind, id, ms, start);
	}
	close(c->fd);
	free(c);
	return NULL;
}

static void *
listen_loop(void *arg)
{
	struct server *sv = arg;
	struct pollfd p = {.fd = sv->lfd, .events = POLLIN};
	struct conn *c;

	while (!__atomic_load_n(&sv->stop, __ATOMIC_SEQ_CST)) {
		if (poll(&p, 1, 20) <= 0 || !(p.revents & POLLIN))
			continue;
		c = calloc(1, sizeof(*c));
		c->sv = sv;
		if ((c->fd = accept(sv->lfd, NULL, NULL)) < 0 || sv->nconn == MAXREQ) {
			if (c->fd >= 0)
				close(c->fd);
			free(c);
			continue;
		}
		if (pthread_create(&sv->conn[sv->nconn], NULL, serve_conn, c) != 0) {
			close(c->fd);
			free(c);
			continue;
		}
		sv->nconn++;
	}
	return NULL;
}

static struct server *
server_start(void)
{
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof(a);
	struct server *sv = calloc(1, sizeof(*sv));

	assert_non_null(sv);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((sv->lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(sv->lfd, 64), 0);
	assert_int_equal(getsockname(sv->lfd, (struct sockaddr *)&a, &alen), 0);
	sv->port = ntohs(a.sin_port);
	pthread_mutex_init(&sv->mu, NULL);
	assert_int_equal(pthread_create(&sv->listener, NULL, listen_loop, sv), 0);
	return sv;
}

static void
server_stop(struct server *sv)
{
	__atomic_store_n(&sv->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(sv->listener, NULL);
	for (int i = 0; i < sv->nconn; i++)
		pthread_join(sv->conn[i], NULL);
	close(sv->lfd);
}

static void
server_free(struct server *sv)
{
	pthread_mutex_destroy(&sv->mu);
	free(sv);
}

/* The jobs of one call: a POST (sent once: CW_RETRY_UNSENT) per path. */
struct batch {
	struct cw_http_req req[MAXREQ];
	struct cw_http_job job[MAXREQ];
	char *url[MAXREQ];
	size_t n;
};

static void
add(struct batch *b, const char *url)
{
	struct cw_http_req *r = &b->req[b->n];

	b->url[b->n] = strdup(url);
	*r = (struct cw_http_req){.service = "Test", .method = "POST", .url = b->url[b->n],
	    .body = "{}", .body_len = 2, .retry = CW_RETRY_UNSENT};
	b->job[b->n++].req = r;
}

static void
addf(struct batch *b, const char *fmt, ...)
{
	char url[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(url, sizeof(url), fmt, ap);
	va_end(ap);
	add(b, url);
}

static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		cw_http_resp_free(&b->job[i].resp);
		free(b->url[i]);
	}
	b->n = 0;
}

static struct cw_http *
client(void)
{
	struct cw_http_opts o;

	cw_http_opts_default(&o);
	o.max_attempts = 3;
	o.backoff_ms = 1;
	o.backoff_max_ms = 1;
	o.connect_timeout_ms = 2000;
	o.timeout_ms = 5000;
	return cw_http_new(&o);
}

static void
test_order_and_limit(void **state)
{
	static struct batch b;
	struct server *sv = server_start();
	struct cw_http_gate gate = {0};
	struct cw_http *h = client();
	char id[16];

	(void)state;
	/* The later a job, the sooner its answer: answers come back in the
	 * reverse order, results must not. */
	for (int i = 0; i < 20; i++)
		addf(&b, "http://127.0.0.1:%d/ok/%d/%d", sv->port, i, (20 - i) * 5);
	assert_int_equal(cw_http_do_many(h, b.job, b.n, 4, &gate), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "%d", i);
		assert_int_equal(b.job[i].rc, 0);
		assert_int_equal(b.job[i].resp.status, 200);
		assert_string_equal(b.job[i].resp.body, id);
		assert_int_equal(b.job[i].resp.attempts, 1);
	}
	batch_free(&b);
	server_stop(sv);
	/* Counted by the server: never more than 4, and more than one. */
	assert_true(sv->max <= 4);
	assert_true(sv->max >= 2);
	assert_int_equal(sv->nlog, 20);
	server_free(sv);
	cw_http_free(h);
}

static void
test_one_in_flight(void **state)
{
	static struct batch b;
	struct server *sv = server_start();
	struct cw_http_gate gate = {0};
	struct cw_http *h = client();

	(void)state;
	for (int i = 0; i < 6; i++)
		addf(&b, "http://127.0.0.1:%d/ok/%d/20", sv->port, i);
	assert_int_equal(cw_http_do_many(h, b.job, b.n, 1, &gate), 0);
	batch_free(&b);
	server_stop(sv);
	assert_int_equal(sv->max, 1);
	/* One at a time, in order. */
	for (int i = 0; i < 6; i++) {
		char id[16];

		snprintf(id, sizeof(id), "%d", i);
		assert_string_equal(sv->log[i].id, id);
	}
	server_free(sv);
	cw_http_free(h);
}

static void
test_failures_among_successes(void **state)
{
	static struct batch b;
	struct server *sv = server_start();
	struct cw_http_gate gate = {0};
	struct cw_http *h = client();

	(void)state;
	addf(&b, "http://127.0.0.1:%d/ok/a/30", sv->port);
	addf(&b, "http://127.0.0.1:%d/drop/b", sv->port);
	addf(&b, "http://127.0.0.1:%d/ok/c/10", sv->port);
	add(&b, "http://127.0.0.1:9/refused");  /* discard: nobody listens */
	addf(&b, "http://127.0.0.1:%d/500/e", sv->port);
	addf(&b, "http://127.0.0.1:%d/ok/f/0", sv->port);
	assert_int_equal(cw_http_do_many(h, b.job, b.n, 8, &gate), 2);
	assert_int_equal(b.job[0].rc, 0);
	assert_string_equal(b.job[0].resp.body, "a");
	/* Taken, then no answer: uncertain, and not sent again. */
	assert_int_equal(b.job[1].rc, -1);
	assert_int_equal(b.job[1].resp.uncertain, 1);
	assert_int_equal(b.job[1].resp.attempts, 1);
	assert_non_null(strstr(b.job[1].e.msg, "outcome unknown"));
	assert_int_equal(b.job[2].rc, 0);
	assert_string_equal(b.job[2].resp.body, "c");
	/* Never connected: provably unsent, tried every time, not uncertain. */
	assert_int_equal(b.job[3].rc, -1);
	assert_int_equal(b.job[3].resp.uncertain, 0);
	assert_int_equal(b.job[3].resp.attempts, 3);
	/* A bare 500 is an answer: the caller judges it, it is not repeated. */
	assert_int_equal(b.job[4].rc, 0);
	assert_int_equal(b.job[4].resp.status, 500);
	assert_int_equal(b.job[4].resp.attempts, 1);
	assert_int_equal(b.job[5].rc, 0);
	assert_string_equal(b.job[5].resp.body, "f");
	batch_free(&b);
	server_stop(sv);
	/* The dropped one reached the server once, as did each other. */
	assert_int_equal(sv->nlog, 5);
	server_free(sv);
	cw_http_free(h);
}

static void
test_retry_after_holds_all(void **state)
{
	static struct batch b;
	struct server *sv = server_start();
	struct cw_http_gate gate = {0};
	struct cw_http *h = client();
	long long t429 = 0, first_after = 0;

	(void)state;
	addf(&b, "http://127.0.0.1:%d/limit/x", sv->port);
	for (int i = 0; i < 15; i++)
		addf(&b, "http://127.0.0.1:%d/ok/%d/40", sv->port, i);
	assert_int_equal(cw_http_do_many(h, b.job, b.n, 4, &gate), 0);
	assert_int_equal(b.job[0].resp.status, 200);
	assert_int_equal(b.job[0].resp.attempts, 2);
	batch_free(&b);
	pthread_mutex_lock(&sv->mu);  /* the server's threads may still be closing */
	for (int i = 0; i < sv->nlog; i++)
		if (sv->log[i].status == 429)
			t429 = sv->log[i].end;
	assert_true(t429 > 0);
	/* Those under way when the 429 came may arrive just after it; none may
	 * start from 100 ms after it until its second has passed. */
	for (int i = 0; i < sv->nlog; i++) {
		long long s = sv->log[i].start;

		assert_false(s > t429 + 100 && s < t429 + 1000);
		if (s >= t429 + 1000 && (first_after == 0 || s < first_after))
			first_after = s;
	}
	pthread_mutex_unlock(&sv->mu);
	assert_true(first_after > 0);
	assert_true(gate.not_before_ms >= t429 + 900);
	/* A later call on the same gate waits too, if the wait is still on. */
	gate.not_before_ms = cw_monotonic_ms() + 300;
	t429 = gate.not_before_ms;
	addf(&b, "http://127.0.0.1:%d/ok/late/0", sv->port);
	assert_int_equal(cw_http_do_many(h, b.job, b.n, 4, &gate), 0);
	batch_free(&b);
	server_stop(sv);
	assert_true(sv->log[sv->nlog - 1].start >= t429);
	server_free(sv);
	cw_http_free(h);
}

static void
test_pace_across_flights(void **state)
{
	static struct batch b;
	struct server *sv = server_start();
	struct cw_http_gate gate = {.per_minute = 600};  /* a start every 100 ms */
	struct cw_http *h = client();
	long long starts[MAXREQ], t;

	(void)state;
	for (int i = 0; i < 6; i++)
		addf(&b, "http://127.0.0.1:%d/ok/%d/250", sv->port, i);
	assert_int_equal(cw_http_do_many(h, b.job, b.n, 8, &gate), 0);
	batch_free(&b);
	/* A later call keeps the pace from the last start of this one. */
	addf(&b, "http://127.0.0.1:%d/ok/late/0", sv->port);
	assert_int_equal(cw_http_do_many(h, b.job, b.n, 8, &gate), 0);
	batch_free(&b);
	server_stop(sv);
	assert_int_equal(sv->nlog, 7);
	for (int i = 0; i < sv->nlog; i++)
		starts[i] = sv->log[i].start;
	for (int i = 0; i < sv->nlog; i++)
		for (int j = i + 1; j < sv->nlog; j++)
			if (starts[j] < starts[i]) {
				t = starts[i];
				starts[i] = starts[j];
				starts[j] = t;
			}
	/* 100 ms apart at the client; the server's clock reads them a few ms
	 * either way. A 250 ms hold each: without the pace all six would be
	 * in flight at once. */
	for (int i = 1; i < sv->nlog; i++)
		assert_true(starts[i] - starts[i - 1] >= 80);
	assert_true(sv->max >= 2);
	server_free(sv);
	cw_http_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_limit),
		cmocka_unit_test(test_one_in_flight),
		cmocka_unit_test(test_failures_among_successes),
		cmocka_unit_test(test_retry_after_holds_all),
		cmocka_unit_test(test_pace_across_flights),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
