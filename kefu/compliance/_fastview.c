/* The rule guard's per-character and per-hit loops in C (decisions: "The rule guard's text
 * view, sentence split and scan bookkeeping in C").
 *
 * The same computation as kefu/compliance/textview.py (_parts), sentences.py
 * (_split_sentences, scripts_of) and prescan.py (_collect), which stay the reference and the
 * fallback: the sources run them, and tests compare both on every corpus text and every BMP
 * character. The n-gram model's scores likewise (model.py _sums; decisions: "The n-gram
 * model's features and sums in C").
 * Folding one character is still decided in Python (the fold table's __missing__); this
 * module only remembers each answer for the BMP, so a check never leaves C for a character it
 * has seen.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* folded + 1 per BMP code point; 0: not asked yet. */
static uint32_t fold_cache[0x10000];


static int
fold_char(PyObject *table, Py_UCS4 c, Py_UCS4 *out)
{
    if (c < 0x10000 && fold_cache[c]) {
        *out = fold_cache[c] - 1;
        return 0;
    }
    PyObject *key = PyLong_FromUnsignedLong(c);
    if (key == NULL)
        return -1;
    PyObject *value = PyObject_GetItem(table, key);
    Py_DECREF(key);
    if (value == NULL)
        return -1;
    if (!PyUnicode_Check(value) || PyUnicode_GET_LENGTH(value) != 1) {
        Py_DECREF(value);
        PyErr_SetString(PyExc_ValueError, "the fold table must map a character to one character");
        return -1;
    }
    Py_UCS4 folded = PyUnicode_READ_CHAR(value, 0);
    Py_DECREF(value);
    if (c < 0x10000)
        fold_cache[c] = folded + 1;
    *out = folded;
    return 0;
}

/* textview._SEPARATORS, one character: \s, ASCII punctuation minus # $ % + @, and the ranges. */
static inline int
is_separator(Py_UCS4 c)
{
    if (c < 0x80) {
        switch (c) {
        case '!': case '"': case '&': case '\'': case '(': case ')': case '*': case ',':
        case '-': case '.': case '/': case ':': case ';': case '<': case '=': case '>':
        case '?': case '[': case '\\': case ']': case '^': case '_': case '`': case '{':
        case '|': case '}': case '~':
            return 1;
        default:
            return Py_UNICODE_ISSPACE(c);
        }
    }
    if ((c >= 0xa1 && c <= 0xa4) || (c >= 0xa6 && c <= 0xbf) || (c >= 0x2010 && c <= 0x2027) ||
        (c >= 0x2030 && c <= 0x205e) || (c >= 0x3000 && c <= 0x303f) || c == 0x30fb ||
        c == 0xff5e)
        return 1;
    return Py_UNICODE_ISSPACE(c);
}

static inline int
is_cjk(Py_UCS4 c)
{
    return (c >= 0x3400 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff);
}

static inline int
is_zero_width(Py_UCS4 c)
{
    return c == 0x200b || c == 0x200c || c == 0x200d || c == 0x2060 || c == 0xfeff || c == 0xad;
}

static inline int
is_ascii_alpha(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
all_space(const Py_UCS4 *buf, Py_ssize_t start, Py_ssize_t end)
{
    for (Py_ssize_t i = start; i < end; i++)
        if (!Py_UNICODE_ISSPACE(buf[i]))
            return 0;
    return 1;
}

/* build(text, table) -> (folded, compact, mapped or None), as textview.build_view. */
static PyObject *
fastview_build(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "build(text: str, table)");
        return NULL;
    }
    PyObject *text = args[0], *table = args[1];
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *result = NULL, *folded = NULL, *compact = NULL, *mapped = NULL;
    /* buf: the folded text; runs: separator runs as (start, end); keep: 0 where dropped. */
    Py_UCS4 *buf = PyMem_Malloc(sizeof(Py_UCS4) * (n + 1));
    Py_ssize_t *runs = PyMem_Malloc(sizeof(Py_ssize_t) * 2 * (n + 1));
    char *drop = PyMem_Calloc(n + 1, 1);
    if (buf == NULL || runs == NULL || drop == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int changed = 0, any_zero_width = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (fold_char(table, c, &buf[i]) < 0)
            goto done;
        changed |= buf[i] != c;
        any_zero_width |= is_zero_width(buf[i]);
    }
    Py_ssize_t nruns = 0;
    for (Py_ssize_t i = 0; i < n;) {
        if (!is_separator(buf[i])) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < n && is_separator(buf[i]))
            i++;
        runs[2 * nruns] = start;
        runs[2 * nruns + 1] = i;
        nruns++;
    }
    int dropped = 0;
    /* textview._glued */
    for (Py_ssize_t idx = 0; idx < nruns; idx++) {
        Py_ssize_t start = runs[2 * idx], end = runs[2 * idx + 1];
        if (start == 0 || end == n)
            continue;
        Py_ssize_t prev_len = start - (idx ? runs[2 * idx - 1] : 0);
        Py_ssize_t next_len = (idx + 1 < nruns ? runs[2 * idx + 2] : n) - end;
        Py_UCS4 prev_ch = buf[start - 1], next_ch = buf[end];
        int glue;
        if (prev_len > 1 && next_len > 1)
            glue = is_cjk(prev_ch) && is_cjk(next_ch) && all_space(buf, start, end);
        else if (is_cjk(prev_ch) && is_cjk(next_ch))
            glue = all_space(buf, start, end) || prev_len == 1 || next_len == 1;
        else
            glue = prev_len == 1 && next_len == 1 && is_ascii_alpha(prev_ch) &&
                   is_ascii_alpha(next_ch);
        if (glue) {
            memset(drop + start, 1, end - start);
            dropped = 1;
        }
    }
    if (any_zero_width) {
        for (Py_ssize_t i = 0; i < n; i++)
            if (is_zero_width(buf[i])) {
                drop[i] = 1;
                dropped = 1;
            }
    }
    if (changed) {
        folded = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, n);
        if (folded == NULL)
            goto done;
    }
    else {
        folded = Py_NewRef(text);
    }
    if (!dropped) {
        result = PyTuple_Pack(3, folded, folded, Py_None);
        goto done;
    }
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!drop[i])
            kept++;
    mapped = PyTuple_New(kept);
    if (mapped == NULL)
        goto done;
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (drop[i])
            continue;
        PyObject *index = PyLong_FromSsize_t(i);
        if (index == NULL)
            goto done;
        PyTuple_SET_ITEM(mapped, j, index);
        buf[j++] = buf[i];
    }
    compact = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, kept);
    if (compact == NULL)
        goto done;
    result = PyTuple_Pack(3, folded, compact, mapped);
done:
    Py_XDECREF(folded);
    Py_XDECREF(compact);
    Py_XDECREF(mapped);
    PyMem_Free(buf);
    PyMem_Free(runs);
    PyMem_Free(drop);
    return result;
}

/* sentences._short_question */
static int
short_question(int kind, const void *data, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t len = end - start;
    if (len <= 8)
        return 1;
    if (len > 24)
        return 0;
    Py_ssize_t words = 0;
    int in_word = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= 0x3400 && c <= 0x9fff)
            return 0;
        if (Py_UNICODE_ISSPACE(c))
            in_word = 0;
        else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    return words <= 4;
}

static inline int
is_sentence_end(Py_UCS4 c)
{
    return c == 0x3002 || c == '!' || c == '?' || c == ';' || c == '\n';
}

static int
append_span(PyObject *spans, Py_ssize_t start, Py_ssize_t end)
{
    PyObject *span = Py_BuildValue("(nn)", start, end);
    if (span == NULL)
        return -1;
    int rc = PyList_Append(spans, span);
    Py_DECREF(span);
    return rc;
}

/* sentences(text) -> [(start, end)], as sentences.split_sentences. */
static PyObject *
fastview_sentences(PyObject *module, PyObject *text)
{
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "sentences(text: str)");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *spans = PyList_New(0);
    if (spans == NULL)
        return NULL;
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i < n;) {
        /* _SENTENCE_SPLIT: a run of [。!?;\n], or "." not followed by a digit. */
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        Py_ssize_t m_end;
        if (is_sentence_end(c)) {
            m_end = i + 1;
            while (m_end < n && is_sentence_end(PyUnicode_READ(kind, data, m_end)))
                m_end++;
        }
        else if (c == '.' && !(i + 1 < n && Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, i + 1)))) {
            m_end = i + 1;
        }
        else {
            i++;
            continue;
        }
        if (c == '?' && m_end < n && short_question(kind, data, start, i)) {
            /* A short question joins the answer after it (sentences.split_sentences). */
            i = m_end;
            continue;
        }
        if (i > start && append_span(spans, start, i) < 0) {
            Py_DECREF(spans);
            return NULL;
        }
        start = m_end;
        i = m_end;
    }
    if (start < n && append_span(spans, start, n) < 0) {
        Py_DECREF(spans);
        return NULL;
    }
    return spans;
}

/* scripts(text) -> 1 if it has a CJK character (U+3400..U+9FFF) | 2 if two a-z in a row. */
static PyObject *
fastview_scripts(PyObject *module, PyObject *text)
{
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "scripts(text: str)");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    long found = 0;
    int prev_latin = 0;
    for (Py_ssize_t i = 0; i < n && found != 3; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int latin = c >= 'a' && c <= 'z';
        if (latin && prev_latin)
            found |= 2;
        else if (c >= 0x3400 && c <= 0x9fff)
            found |= 1;
        prev_latin = latin;
    }
    return PyLong_FromLong(found);
}

static int
append_to(PyObject *lists, PyObject *name, long long place)
{
    PyObject *value = PyLong_FromLongLong(place);
    if (value == NULL)
        return -1;
    PyObject *list = PyDict_GetItemWithError(lists, name);
    int rc;
    if (list != NULL) {
        rc = PyList_Append(list, value);
    }
    else if (PyErr_Occurred()) {
        rc = -1;
    }
    else {
        list = PyList_New(1);
        if (list == NULL) {
            Py_DECREF(value);
            return -1;
        }
        PyList_SET_ITEM(list, 0, Py_NewRef(value));
        rc = PyDict_SetItem(lists, name, list);
        Py_DECREF(list);
    }
    Py_DECREF(value);
    return rc;
}

/* collect(matches, values) -> (cued, by_group, lexical, present), as the loop of prescan.scan
 * over the automaton's (key, start, end) matches; values[key] is (cue codes, pattern starts
 * (group, base), concept starts (name, index), required literals (group, index)). */
static PyObject *
fastview_collect(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyList_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "collect(matches: list, values: tuple)");
        return NULL;
    }
    PyObject *matches = args[0], *values = args[1];
    PyObject *cued = PySet_New(NULL), *by_group = PyDict_New(), *lexical = PyDict_New();
    PyObject *present = PySet_New(NULL);
    if (cued == NULL || by_group == NULL || lexical == NULL || present == NULL)
        goto fail;
    Py_ssize_t nvalues = PyTuple_GET_SIZE(values);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(matches); i++) {
        PyObject *match = PyList_GET_ITEM(matches, i);
        if (!PyTuple_Check(match) || PyTuple_GET_SIZE(match) < 2) {
            PyErr_SetString(PyExc_TypeError, "a match is (key, start, end)");
            goto fail;
        }
        Py_ssize_t key = PyLong_AsSsize_t(PyTuple_GET_ITEM(match, 0));
        long long start = PyLong_AsLongLong(PyTuple_GET_ITEM(match, 1));
        if (PyErr_Occurred())
            goto fail;
        if (key < 0 || key >= nvalues) {
            PyErr_SetString(PyExc_IndexError, "automaton key out of range");
            goto fail;
        }
        PyObject *value = PyTuple_GET_ITEM(values, key);
        if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 4) {
            PyErr_SetString(PyExc_TypeError, "an automaton value is a 4-tuple");
            goto fail;
        }
        PyObject *cues = PyTuple_GET_ITEM(value, 0), *ats = PyTuple_GET_ITEM(value, 1);
        PyObject *concept_at = PyTuple_GET_ITEM(value, 2), *needs = PyTuple_GET_ITEM(value, 3);
        if (!PyAnySet_Check(cues) || !PyTuple_Check(ats) || !PyTuple_Check(concept_at) ||
            !PyTuple_Check(needs)) {
            PyErr_SetString(PyExc_TypeError, "an automaton value is (set, tuple, tuple, tuple)");
            goto fail;
        }
        if (PySet_GET_SIZE(cues) && _PySet_Update(cued, cues) < 0)
            goto fail;
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(ats); j++) {
            PyObject *at = PyTuple_GET_ITEM(ats, j);
            if (!PyTuple_Check(at) || PyTuple_GET_SIZE(at) != 2) {
                PyErr_SetString(PyExc_TypeError, "a pattern start is (group, base)");
                goto fail;
            }
            long long base = PyLong_AsLongLong(PyTuple_GET_ITEM(at, 1));
            if (base == -1 && PyErr_Occurred())
                goto fail;
            if (append_to(by_group, PyTuple_GET_ITEM(at, 0), base | start) < 0)
                goto fail;
        }
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(concept_at); j++) {
            PyObject *at = PyTuple_GET_ITEM(concept_at, j);
            if (!PyTuple_Check(at) || PyTuple_GET_SIZE(at) != 2) {
                PyErr_SetString(PyExc_TypeError, "a concept start is (name, index)");
                goto fail;
            }
            long long index = PyLong_AsLongLong(PyTuple_GET_ITEM(at, 1));
            if (index == -1 && PyErr_Occurred())
                goto fail;
            /* prescan.ALTERNATIVE_SHIFT */
            if (append_to(lexical, PyTuple_GET_ITEM(at, 0), start << 16 | index) < 0)
                goto fail;
        }
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(needs); j++)
            if (PySet_Add(present, PyTuple_GET_ITEM(needs, j)) < 0)
                goto fail;
    }
    PyObject *name, *places;
    Py_ssize_t pos = 0;
    while (PyDict_Next(lexical, &pos, &name, &places))
        if (PyList_Sort(places) < 0)
            goto fail;
    PyObject *result = PyTuple_Pack(4, cued, by_group, lexical, present);
    Py_DECREF(cued);
    Py_DECREF(by_group);
    Py_DECREF(lexical);
    Py_DECREF(present);
    return result;
fail:
    Py_XDECREF(cued);
    Py_XDECREF(by_group);
    Py_XDECREF(lexical);
    Py_XDECREF(present);
    return NULL;
}

/* The n-gram model's features and scores (model.py: _sums, the reference).
 *
 * ngram_table(weights, ncodes) turns the model's {n-gram: (weight per code)} into a capsule
 * holding an open-addressing hash table, once per process (model.load_model). ngram_sums(text,
 * table) then finds the distinct 1-4-grams of the compact view that the model knows, in the
 * order of their first occurrence (start, then length: model.ngrams' order), and adds each
 * one's weights per code in that order, starting from 0.0: the additions model._sums makes,
 * so the sums are the same doubles, not merely close ones.
 */

#define GRAM_MAX 4
/* Codes per model: the sums stay on the stack. */
#define CODES_MAX 64
/* Pads a key shorter than GRAM_MAX: not a code point, so "a" and "a\0" stay apart. */
#define GRAM_PAD 0xFFFFFFFFu
#define TABLE_CAPSULE "kefu.compliance._fastview.ngram_table"

typedef struct {
    uint32_t tag;   /* the hash's high half: most misses never touch an entry */
    uint32_t entry; /* 1 + index into entries; 0: empty */
} gram_slot;

typedef struct {
    Py_ssize_t ncodes, nentries;
    uint64_t mask; /* nslots - 1 */
    int shift;     /* 64 - log2(nslots): a slot is the hash's top bits */
    gram_slot *slots;
    /* Per entry: its key, then ncodes doubles (one cache line for six codes). */
    char *entries;
    size_t stride;
} gram_table;

/* An n-gram's key: its code points, GRAM_PAD after its end, two to a word (kept in registers:
 * an array of four 32-bit code points read back as two 64-bit words stalls every lookup). */
typedef struct {
    uint64_t a, b;
} gram_key;

static inline gram_key
make_key(const Py_UCS4 c[GRAM_MAX], Py_ssize_t len)
{
    uint64_t k[GRAM_MAX];
    for (Py_ssize_t i = 0; i < GRAM_MAX; i++)
        k[i] = i < len ? c[i] : GRAM_PAD;
    return (gram_key){k[0] | k[1] << 32, k[2] | k[3] << 32};
}

static inline uint64_t
gram_hash(gram_key key)
{
    /* Multiplicative (Fibonacci) hashing: the top bits mix every bit of the key, and are the
     * slot; the tag is taken from below them. Two multiplies: the lookups are the cost. */
    return (key.a ^ key.b * 0xC2B2AE3D27D4EB4Full) * 0x9E3779B97F4A7C15ull;
}

static inline gram_key *
entry_key(const gram_table *t, Py_ssize_t index)
{
    return (gram_key *)(t->entries + (size_t)index * t->stride);
}

static inline double *
entry_weights(const gram_table *t, Py_ssize_t index)
{
    return (double *)(t->entries + (size_t)index * t->stride + sizeof(gram_key));
}

static inline int
same_key(const gram_key *x, gram_key y)
{
    return x->a == y.a && x->b == y.b;
}

static inline uint64_t
slot_of(const gram_table *t, uint64_t h)
{
    return h >> t->shift;
}

static inline uint32_t
tag_of(uint64_t h)
{
    return (uint32_t)(h >> 8);
}

/* The entry index of key, or -1. */
static inline Py_ssize_t
gram_find(const gram_table *t, gram_key key, uint64_t h)
{
    uint32_t tag = tag_of(h);
    for (uint64_t i = slot_of(t, h);; i = (i + 1) & t->mask) {
        const gram_slot *slot = &t->slots[i];
        if (slot->entry == 0)
            return -1;
        if (slot->tag == tag && same_key(entry_key(t, slot->entry - 1), key))
            return slot->entry - 1;
    }
}

static void
gram_table_free(PyObject *capsule)
{
    gram_table *t = PyCapsule_GetPointer(capsule, TABLE_CAPSULE);
    if (t == NULL)
        return;
    PyMem_RawFree(t->slots);
    PyMem_RawFree(t->entries);
    PyMem_RawFree(t);
}

/* ngram_table(weights: dict[str, tuple[float, ...]], ncodes) -> capsule */
static PyObject *
fastview_ngram_table(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyDict_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "ngram_table(weights: dict, ncodes: int)");
        return NULL;
    }
    PyObject *weights = args[0];
    Py_ssize_t ncodes = PyLong_AsSsize_t(args[1]);
    if (ncodes == -1 && PyErr_Occurred())
        return NULL;
    if (ncodes < 1 || ncodes > CODES_MAX) {
        PyErr_SetString(PyExc_ValueError, "ncodes must be 1..64");
        return NULL;
    }
    Py_ssize_t nentries = PyDict_GET_SIZE(weights);
    if (nentries >= (Py_ssize_t)1 << 30) {
        PyErr_SetString(PyExc_ValueError, "too many n-grams");
        return NULL;
    }
    uint64_t nslots = 16;
    /* At most half full: a probe rarely goes past its first slot or two. */
    while (nslots < (uint64_t)nentries * 2)
        nslots <<= 1;
    gram_table *t = PyMem_RawCalloc(1, sizeof(gram_table));
    if (t == NULL)
        return PyErr_NoMemory();
    t->ncodes = ncodes;
    t->nentries = nentries;
    t->mask = nslots - 1;
    t->shift = 64;
    for (uint64_t size = nslots; size > 1; size >>= 1)
        t->shift--;
    t->stride = sizeof(gram_key) + sizeof(double) * (size_t)ncodes;
    t->slots = PyMem_RawCalloc(nslots, sizeof(gram_slot));
    t->entries = PyMem_RawCalloc(nentries ? nentries : 1, t->stride);
    if (t->slots == NULL || t->entries == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    PyObject *gram, *ws;
    Py_ssize_t pos = 0, index = 0;
    while (PyDict_Next(weights, &pos, &gram, &ws)) {
        if (!PyUnicode_Check(gram) || PyUnicode_GET_LENGTH(gram) < 1 ||
            PyUnicode_GET_LENGTH(gram) > GRAM_MAX) {
            PyErr_SetString(PyExc_ValueError, "an n-gram is a str of 1 to 4 characters");
            goto fail;
        }
        PyObject *seq = PySequence_Fast(ws, "the weights of an n-gram are a sequence");
        if (seq == NULL)
            goto fail;
        if (PySequence_Fast_GET_SIZE(seq) != ncodes) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError, "an n-gram needs one weight per code");
            goto fail;
        }
        Py_UCS4 chars[GRAM_MAX] = {0};
        Py_ssize_t len = PyUnicode_GET_LENGTH(gram);
        for (Py_ssize_t k = 0; k < len; k++)
            chars[k] = PyUnicode_READ_CHAR(gram, k);
        gram_key key = make_key(chars, len);
        *entry_key(t, index) = key;
        double *w = entry_weights(t, index);
        for (Py_ssize_t c = 0; c < ncodes; c++) {
            w[c] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, c));
            if (w[c] == -1.0 && PyErr_Occurred()) {
                Py_DECREF(seq);
                goto fail;
            }
        }
        Py_DECREF(seq);
        uint64_t h = gram_hash(key);
        uint64_t i = slot_of(t, h);
        while (t->slots[i].entry != 0)
            i = (i + 1) & t->mask;
        t->slots[i].tag = tag_of(h);
        t->slots[i].entry = (uint32_t)(index + 1);
        index++;
    }
    PyObject *capsule = PyCapsule_New(t, TABLE_CAPSULE, gram_table_free);
    if (capsule == NULL)
        goto fail;
    return capsule;
fail:
    PyMem_RawFree(t->slots);
    PyMem_RawFree(t->entries);
    PyMem_RawFree(t);
    return NULL;
}

/* ngram_sums(text, table) -> per code the sum of the weights of the distinct model n-grams in
 * text (tuple of floats), or None when the text has none of them; as model._sums.
 *
 * The table does not fit in the first-level cache, so each lookup would wait for memory in
 * turn; three passes over the text's n-grams let the loads overlap: hash every n-gram and
 * prefetch its slot, then find each one's candidate entry and prefetch it, then (in the
 * reference's order) confirm, skip repeats and add. */
static PyObject *
fastview_ngram_sums(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "ngram_sums(text: str, table)");
        return NULL;
    }
    const gram_table *t = PyCapsule_GetPointer(args[1], TABLE_CAPSULE);
    if (t == NULL)
        return NULL;
    PyObject *text = args[0];
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    /* Per n-gram in (start, length) order: its hash, then its candidate entry (-1: none).
     * seen: the entries already counted (a feature is binary), a set of index + 1 at most
     * half full. A reply of a few hundred characters stays on the stack. */
    enum { LOCAL_GRAMS = 1024 };
    uint64_t local_hash[LOCAL_GRAMS];
    int32_t local_entry[LOCAL_GRAMS];
    uint32_t local_seen[2 * LOCAL_GRAMS];
    Py_ssize_t ngrams = n * GRAM_MAX;
    uint64_t seen_size = 64;
    while (seen_size < (uint64_t)ngrams * 2)
        seen_size <<= 1;
    /* The text's code points, GRAM_PAD after its end: keys without a branch per length. */
    uint32_t local_chars[LOCAL_GRAMS / GRAM_MAX + GRAM_MAX];
    uint64_t *hashes = local_hash;
    int32_t *entries = local_entry;
    uint32_t *seen = local_seen;
    uint32_t *chars = local_chars;
    if (ngrams > LOCAL_GRAMS) {
        hashes = PyMem_Malloc(sizeof(uint64_t) * ngrams);
        entries = PyMem_Malloc(sizeof(int32_t) * ngrams);
        seen = PyMem_Calloc(seen_size, sizeof(uint32_t));
        chars = PyMem_Malloc(sizeof(uint32_t) * (n + GRAM_MAX));
        if (hashes == NULL || entries == NULL || seen == NULL || chars == NULL) {
            PyMem_Free(hashes);
            PyMem_Free(entries);
            PyMem_Free(seen);
            PyMem_Free(chars);
            return PyErr_NoMemory();
        }
    }
    else {
        memset(seen, 0, seen_size * sizeof(uint32_t));
    }
    for (Py_ssize_t i = 0; i < n; i++)
        chars[i] = PyUnicode_READ(kind, data, i);
    for (Py_ssize_t i = n; i < n + GRAM_MAX; i++)
        chars[i] = GRAM_PAD;
    /* Pass 1: hash each n-gram (k = start * GRAM_MAX + length - 1; past the end: none). */
    const uint64_t pad = GRAM_PAD;
    for (Py_ssize_t start = 0; start < n; start++) {
        const uint32_t *c = chars + start;
        uint64_t two = c[0] | (uint64_t)c[1] << 32;
        gram_key keys[GRAM_MAX] = {
            {c[0] | pad << 32, pad | pad << 32},
            {two, pad | pad << 32},
            {two, c[2] | pad << 32},
            {two, c[2] | (uint64_t)c[3] << 32},
        };
        for (Py_ssize_t len = 1; len <= GRAM_MAX; len++) {
            Py_ssize_t k = start * GRAM_MAX + len - 1;
            uint64_t h = gram_hash(keys[len - 1]);
            hashes[k] = h;
            entries[k] = start + len > n ? -1 : 0;
            __builtin_prefetch(&t->slots[slot_of(t, h)]);
        }
    }
    /* Pass 2: the first slot whose tag matches (a key compare in pass 3 confirms it). */
    for (Py_ssize_t k = 0; k < ngrams; k++) {
        if (entries[k] < 0)
            continue;
        uint64_t h = hashes[k];
        uint32_t tag = tag_of(h);
        int32_t candidate = -1;
        for (uint64_t i = slot_of(t, h);; i = (i + 1) & t->mask) {
            const gram_slot *slot = &t->slots[i];
            if (slot->entry == 0)
                break;
            if (slot->tag == tag) {
                candidate = (int32_t)slot->entry - 1;
                __builtin_prefetch(entry_key(t, candidate));
                break;
            }
        }
        entries[k] = candidate;
    }
    /* Pass 3: in the reference's order, confirm, skip repeats and add. */
    double sums[CODES_MAX];
    Py_ssize_t ncodes = t->ncodes;
    for (Py_ssize_t c = 0; c < ncodes; c++)
        sums[c] = 0.0;
    Py_ssize_t found = 0;
    for (Py_ssize_t k = 0; k < ngrams; k++) {
        if (entries[k] < 0)
            continue;
        Py_ssize_t start = k / GRAM_MAX, len = k % GRAM_MAX + 1;
        gram_key key = make_key(chars + start, len);
        Py_ssize_t index = entries[k];
        if (!same_key(entry_key(t, index), key)) {
            /* Two n-grams with one tag (rare): the whole probe decides. */
            index = gram_find(t, key, hashes[k]);
            if (index < 0)
                continue;
        }
        uint32_t mark = (uint32_t)index + 1;
        uint64_t at = (mark * 0x9E3779B1u) & (seen_size - 1);
        while (seen[at] != 0 && seen[at] != mark)
            at = (at + 1) & (seen_size - 1);
        if (seen[at] == mark)
            continue;
        seen[at] = mark;
        found++;
        const double *w = entry_weights(t, index);
        for (Py_ssize_t c = 0; c < ncodes; c++)
            sums[c] += w[c];
    }
    if (seen != local_seen) {
        PyMem_Free(hashes);
        PyMem_Free(entries);
        PyMem_Free(seen);
        PyMem_Free(chars);
    }
    if (found == 0)
        Py_RETURN_NONE;
    PyObject *result = PyTuple_New(ncodes);
    if (result == NULL)
        return NULL;
    for (Py_ssize_t c = 0; c < ncodes; c++) {
        PyObject *value = PyFloat_FromDouble(sums[c]);
        if (value == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyTuple_SET_ITEM(result, c, value);
    }
    return result;
}

static PyMethodDef fastview_methods[] = {
    {"ngram_table", (PyCFunction)(void (*)(void))fastview_ngram_table, METH_FASTCALL,
     "ngram_table(weights, ncodes) -> the model's weights as a hash table (a capsule)"},
    {"ngram_sums", (PyCFunction)(void (*)(void))fastview_ngram_sums, METH_FASTCALL,
     "ngram_sums(text, table) -> the weight sum per code or None, as model._sums"},
    {"collect", (PyCFunction)(void (*)(void))fastview_collect, METH_FASTCALL,
     "collect(matches, values) -> (cued, by_group, lexical, present), as prescan.scan"},
    {"sentences", (PyCFunction)fastview_sentences, METH_O,
     "sentences(text) -> [(start, end)], as sentences.split_sentences"},
    {"scripts", (PyCFunction)fastview_scripts, METH_O,
     "scripts(text) -> 1 (CJK) | 2 (Latin), as sentences.scripts_of"},
    {"build", (PyCFunction)(void (*)(void))fastview_build, METH_FASTCALL,
     "build(text, table) -> (folded, compact, mapped or None)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastview_module = {
    PyModuleDef_HEAD_INIT, "kefu.compliance._fastview",
    "The rule guard's text view in one C pass (see textview.py).", -1, fastview_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__fastview(void)
{
    return PyModule_Create(&fastview_module);
}
