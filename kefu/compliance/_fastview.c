/* The rule guard's per-character and per-hit loops in C (decisions: "The rule guard's text
 * view, sentence split and scan bookkeeping in C").
 *
 * The same computation as kefu/compliance/textview.py (_parts), sentences.py
 * (_split_sentences, scripts_and_digit) and prescan.py (_collect), which stay the reference
 * and the fallback: the sources run them, and tests compare both on every corpus text and
 * every BMP character. The n-gram model's scores likewise (model.py _sums; decisions: "The
 * n-gram model's features and sums in C").
 * Folding one character is still decided in Python (the fold table's __missing__); this
 * module only remembers each answer for the BMP, so a check never leaves C for a character it
 * has seen.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

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

/* scripts(text) -> 1 if it has a CJK character (U+3400..U+9FFF) | 2 if two a-z in a row | 4 if
 * it has a decimal digit (what hits._DIGIT finds) | 8 if it has at least PHONE_DIGITS of them
 * (what a phone number needs: hits._PHONE_LIKE matches seven) | 16 if a whitespace character
 * (sre's \s) is followed by one of STREET_WORDS (what patterns.ADDRESS_EN ends with:
 * `\s+(?:street|st|...)\b`, so a text without one holds no English address; decisions §121). */
#define PHONE_DIGITS 7
/* patterns.ADDRESS_EN's street words, in its order; sentences.STREET_WORDS is the same tuple and
 * hits checks at import that ADDRESS_EN still ends with them. */
static const char *const STREET_WORDS[] = {
    "street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "dr",
    "boulevard", "blvd", "way", "court", "ct", NULL,
};

/* The first letters of STREET_WORDS as bits (1 << (letter - 'a')). */
#define STREET_FIRST                                                                           \
    ((1u << ('s' - 'a')) | (1u << ('r' - 'a')) | (1u << ('a' - 'a')) | (1u << ('l' - 'a')) |   \
     (1u << ('d' - 'a')) | (1u << ('b' - 'a')) | (1u << ('w' - 'a')) | (1u << ('c' - 'a')))

/* Whether text[at:] starts with one of STREET_WORDS. */
static int
street_word_at(int kind, const void *data, Py_ssize_t n, Py_ssize_t at)
{
    if (at >= n)
        return 0;
    Py_UCS4 first = PyUnicode_READ(kind, data, at);
    /* Most words after a space start with none of the street words' first letters. */
    if (first < 'a' || first > 'z' || !((STREET_FIRST >> (first - 'a')) & 1))
        return 0;
    for (const char *const *word = STREET_WORDS; *word != NULL; word++) {
        const char *w = *word;
        if ((Py_UCS4)(unsigned char)w[0] != first)
            continue;
        Py_ssize_t j = 1;
        while (w[j] != '\0' && at + j < n &&
               PyUnicode_READ(kind, data, at + j) == (Py_UCS4)(unsigned char)w[j])
            j++;
        if (w[j] == '\0')
            return 1;
    }
    return 0;
}

static PyObject *
street_words_tuple(void)
{
    Py_ssize_t count = 0;
    while (STREET_WORDS[count] != NULL)
        count++;
    PyObject *words = PyTuple_New(count);
    if (words == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *word = PyUnicode_FromString(STREET_WORDS[i]);
        if (word == NULL) {
            Py_DECREF(words);
            return NULL;
        }
        PyTuple_SET_ITEM(words, i, word);
    }
    return words;
}
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
    int digits = 0;
    for (Py_ssize_t i = 0; i < n && found != 31; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int latin = c >= 'a' && c <= 'z';
        if (latin) {
            if (prev_latin)
                found |= 2;
        }
        else if (c >= 0x3400 && c <= 0x9fff)
            found |= 1;
        /* What sre's \d matches in a str pattern (Unicode decimal digits, category Nd). */
        else if (Py_UNICODE_ISDECIMAL(c)) {
            found |= 4;
            if (++digits >= PHONE_DIGITS)
                found |= 8;
        }
        /* What sre's \s matches in a str pattern. */
        else if (!(found & 16) && Py_UNICODE_ISSPACE(c) && street_word_at(kind, data, n, i + 1))
            found |= 16;
        prev_latin = latin;
    }
    return PyLong_FromLong(found);
}

/* What collect() does with each automaton key, read once from the values tuple into flat C
 * arrays: per key its cue set and required literals (Python objects, borrowed from the tuple),
 * and its pattern and concept starts as (name id, base) pairs; the names (groups, concept
 * parts) are numbered so a match files its places into C buffers, not into dicts of lists of
 * Python ints one append at a time. Built for the last values tuple seen and kept with a
 * reference to it: the tuple and everything in it are immutable, so the plan stays true. */
typedef struct {
    Py_ssize_t count;   /* names */
    PyObject **names;   /* borrowed from the values tuple */
    Py_ssize_t *offset; /* per key, nkeys + 1: its pairs are [offset[key], offset[key + 1]) */
    uint32_t *id;       /* per pair: the name's number */
    uint64_t *base;     /* per pair: the pattern's base, or the alternative's index */
    /* Per pair (pattern starts only): the slot of the pattern's required literal in
     * collect_plan.need_values, or -1 for a pattern that is not gated on one. */
    int32_t *need_slot;
    /* Scratch per call: places filed per name, and the names in order of first filing. */
    Py_ssize_t *filed;
    Py_ssize_t *order;
} name_plan;

typedef struct {
    PyObject *values; /* strong reference: the plan is this tuple's */
    Py_ssize_t nkeys;
    PyObject **cues;  /* per key, NULL when it cues nothing */
    PyObject **needs; /* per key, NULL when it is no pattern's required literal */
    /* The distinct ints of prescan.need_of that gate a pattern start, numbered as slots; per
     * key the slots its needs switch on ([need_offset[key], need_offset[key + 1]) of
     * key_slot). A gated pattern's places are filed only when its slot is on. */
    Py_ssize_t nslots;
    PyObject *slot_of; /* dict: need int -> slot, only while the plan is built */
    Py_ssize_t *need_offset;
    int32_t *key_slot;
    name_plan groups, lexical;
    /* Scratch per call: (name id, place) per filed place, then the places by name. */
    int busy; /* a call is using the scratch (see fastview_collect) */
    Py_ssize_t capacity;
    uint32_t *rec_id;
    uint64_t *rec_place;
    int32_t *rec_slot; /* per pattern-start record: its pair's need slot */
    uint64_t *grouped;
    uint8_t *slot_on; /* per slot, this call: its required literal occurred */
} collect_plan;

static collect_plan *the_plan;

static void
name_plan_free(name_plan *p)
{
    PyMem_Free(p->names);
    PyMem_Free(p->offset);
    PyMem_Free(p->id);
    PyMem_Free(p->base);
    PyMem_Free(p->need_slot);
    PyMem_Free(p->filed);
    PyMem_Free(p->order);
}

static void
collect_plan_free(collect_plan *plan)
{
    if (plan == NULL)
        return;
    Py_XDECREF(plan->values);
    PyMem_Free(plan->cues);
    PyMem_Free(plan->needs);
    Py_XDECREF(plan->slot_of);
    PyMem_Free(plan->need_offset);
    PyMem_Free(plan->key_slot);
    PyMem_Free(plan->slot_on);
    name_plan_free(&plan->groups);
    name_plan_free(&plan->lexical);
    PyMem_Free(plan->rec_id);
    PyMem_Free(plan->rec_place);
    PyMem_Free(plan->rec_slot);
    PyMem_Free(plan->grouped);
    PyMem_Free(plan);
}

/* The slot of need int `need` in plan->slot_of, numbered on first sight. */
static int32_t
need_slot_of(collect_plan *plan, PyObject *need)
{
    PyObject *known = PyDict_GetItemWithError(plan->slot_of, need);
    if (known != NULL)
        return (int32_t)PyLong_AsSsize_t(known);
    if (PyErr_Occurred())
        return -1;
    if (plan->nslots >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "too many required literals");
        return -1;
    }
    known = PyLong_FromSsize_t(plan->nslots);
    if (known == NULL || PyDict_SetItem(plan->slot_of, need, known) < 0) {
        Py_XDECREF(known);
        return -1;
    }
    Py_DECREF(known);
    return (int32_t)plan->nslots++;
}

/* Number the names of part `part` (1: pattern starts (group, base, need), 2: concept starts
 * (name, index)) of every key. */
static int
name_plan_build(collect_plan *plan, name_plan *p, PyObject *values, int part, const char *what)
{
    Py_ssize_t width = part == 1 ? 3 : 2;
    Py_ssize_t nkeys = PyTuple_GET_SIZE(values), npairs = 0;
    for (Py_ssize_t key = 0; key < nkeys; key++)
        npairs += PyTuple_GET_SIZE(PyTuple_GET_ITEM(PyTuple_GET_ITEM(values, key), part));
    p->offset = PyMem_Malloc(sizeof(Py_ssize_t) * (nkeys + 1));
    p->id = PyMem_Malloc(sizeof(uint32_t) * (npairs + 1));
    p->base = PyMem_Malloc(sizeof(uint64_t) * (npairs + 1));
    p->names = PyMem_Malloc(sizeof(PyObject *) * (npairs + 1));
    p->need_slot = PyMem_Malloc(sizeof(int32_t) * (npairs + 1));
    PyObject *ids = PyDict_New();
    if (p->offset == NULL || p->id == NULL || p->base == NULL || p->names == NULL ||
        p->need_slot == NULL || ids == NULL) {
        Py_XDECREF(ids);
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t pair = 0;
    for (Py_ssize_t key = 0; key < nkeys; key++) {
        p->offset[key] = pair;
        PyObject *starts = PyTuple_GET_ITEM(PyTuple_GET_ITEM(values, key), part);
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(starts); j++, pair++) {
            PyObject *at = PyTuple_GET_ITEM(starts, j);
            if (!PyTuple_Check(at) || PyTuple_GET_SIZE(at) != width) {
                PyErr_SetString(PyExc_TypeError, what);
                goto fail;
            }
            PyObject *name = PyTuple_GET_ITEM(at, 0);
            long long base = PyLong_AsLongLong(PyTuple_GET_ITEM(at, 1));
            if (base == -1 && PyErr_Occurred())
                goto fail;
            if (base < 0) {
                PyErr_SetString(PyExc_ValueError, "a start's base or index is not negative");
                goto fail;
            }
            PyObject *known = PyDict_GetItemWithError(ids, name);
            if (known == NULL) {
                if (PyErr_Occurred())
                    goto fail;
                known = PyLong_FromSsize_t(p->count);
                if (known == NULL || PyDict_SetItem(ids, name, known) < 0) {
                    Py_XDECREF(known);
                    goto fail;
                }
                Py_DECREF(known);
                p->names[p->count] = name;
                p->id[pair] = (uint32_t)p->count++;
            }
            else {
                p->id[pair] = (uint32_t)PyLong_AsSsize_t(known);
            }
            p->base[pair] = (uint64_t)base;
            p->need_slot[pair] = -1;
            if (width == 3) {
                /* A gated pattern's need_of int, or -1 for one filed wherever it starts. */
                PyObject *need = PyTuple_GET_ITEM(at, 2);
                long long value = PyLong_AsLongLong(need);
                if (value == -1 && PyErr_Occurred())
                    goto fail;
                if (value >= 0) {
                    int32_t slot = need_slot_of(plan, need);
                    if (slot < 0)
                        goto fail;
                    p->need_slot[pair] = slot;
                }
            }
        }
    }
    p->offset[nkeys] = pair;
    Py_DECREF(ids);
    p->filed = PyMem_Calloc(p->count + 1, sizeof(Py_ssize_t));
    p->order = PyMem_Malloc(sizeof(Py_ssize_t) * (p->count + 1));
    if (p->filed == NULL || p->order == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
fail:
    Py_DECREF(ids);
    return -1;
}

static collect_plan *
collect_plan_build(PyObject *values)
{
    collect_plan *plan = PyMem_Calloc(1, sizeof(collect_plan));
    if (plan == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    plan->values = Py_NewRef(values);
    Py_ssize_t nkeys = plan->nkeys = PyTuple_GET_SIZE(values);
    plan->cues = PyMem_Calloc(nkeys + 1, sizeof(PyObject *));
    plan->needs = PyMem_Calloc(nkeys + 1, sizeof(PyObject *));
    if (plan->cues == NULL || plan->needs == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t key = 0; key < nkeys; key++) {
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
        plan->cues[key] = PySet_GET_SIZE(cues) ? cues : NULL;
        plan->needs[key] = PyTuple_GET_SIZE(needs) ? needs : NULL;
    }
    plan->slot_of = PyDict_New();
    if (plan->slot_of == NULL)
        goto fail;
    if (name_plan_build(plan, &plan->groups, values, 1, "a pattern start is (group, base, need)") <
            0 ||
        name_plan_build(plan, &plan->lexical, values, 2, "a concept start is (name, index)") < 0)
        goto fail;
    /* Per key, the slots of its needs that gate some pattern start (the others gate none). */
    Py_ssize_t nkey_slots = 0;
    for (Py_ssize_t key = 0; key < nkeys; key++)
        if (plan->needs[key] != NULL)
            nkey_slots += PyTuple_GET_SIZE(plan->needs[key]);
    plan->need_offset = PyMem_Malloc(sizeof(Py_ssize_t) * (nkeys + 1));
    plan->key_slot = PyMem_Malloc(sizeof(int32_t) * (nkey_slots + 1));
    plan->slot_on = PyMem_Calloc(plan->nslots + 1, 1);
    if (plan->need_offset == NULL || plan->key_slot == NULL || plan->slot_on == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t at = 0;
    for (Py_ssize_t key = 0; key < nkeys; key++) {
        plan->need_offset[key] = at;
        PyObject *needs = plan->needs[key];
        if (needs == NULL)
            continue;
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(needs); j++) {
            PyObject *known = PyDict_GetItemWithError(plan->slot_of, PyTuple_GET_ITEM(needs, j));
            if (known == NULL) {
                if (PyErr_Occurred())
                    goto fail;
                continue;
            }
            plan->key_slot[at++] = (int32_t)PyLong_AsSsize_t(known);
        }
    }
    plan->need_offset[nkeys] = at;
    Py_CLEAR(plan->slot_of);
    return plan;
fail:
    collect_plan_free(plan);
    return NULL;
}

static int
compare_places(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void
sort_places(uint64_t *places, Py_ssize_t n)
{
    if (n > 16) {
        qsort(places, (size_t)n, sizeof(uint64_t), compare_places);
        return;
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        uint64_t x = places[i];
        Py_ssize_t j = i;
        for (; j > 0 && places[j - 1] > x; j--)
            places[j] = places[j - 1];
        places[j] = x;
    }
}

static int
reserve_records(collect_plan *plan, Py_ssize_t need)
{
    if (need <= plan->capacity)
        return 0;
    Py_ssize_t capacity = plan->capacity ? plan->capacity : 256;
    while (capacity < need)
        capacity *= 2;
    uint32_t *ids = PyMem_Realloc(plan->rec_id, sizeof(uint32_t) * capacity);
    if (ids != NULL)
        plan->rec_id = ids;
    uint64_t *places = PyMem_Realloc(plan->rec_place, sizeof(uint64_t) * capacity);
    if (places != NULL)
        plan->rec_place = places;
    uint64_t *grouped = PyMem_Realloc(plan->grouped, sizeof(uint64_t) * capacity);
    if (grouped != NULL)
        plan->grouped = grouped;
    int32_t *slots = PyMem_Realloc(plan->rec_slot, sizeof(int32_t) * capacity);
    if (slots != NULL)
        plan->rec_slot = slots;
    if (ids == NULL || places == NULL || grouped == NULL || slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    plan->capacity = capacity;
    return 0;
}

/* The places filed in records [from, to) as {name: sorted list of ints}, names in the order
 * they were first filed; resets the name plan's scratch. */
static PyObject *
places_by_name(collect_plan *plan, name_plan *p, Py_ssize_t from, Py_ssize_t to,
               Py_ssize_t norder)
{
    /* Grown from empty, not _PyDict_NewPresized: that makes a general-keys table, and every
     * later lookup of a name pays for it (measured: more than the resizes it saves). */
    PyObject *out = PyDict_New();
    if (out == NULL)
        goto done;
    /* filed[id] becomes where the id's places start in `grouped`, then where the next goes. */
    Py_ssize_t at = from;
    for (Py_ssize_t k = 0; k < norder; k++) {
        Py_ssize_t id = p->order[k], n = p->filed[id];
        p->filed[id] = at;
        at += n;
    }
    for (Py_ssize_t r = from; r < to; r++)
        plan->grouped[p->filed[plan->rec_id[r]]++] = plan->rec_place[r];
    Py_ssize_t begin = from;
    for (Py_ssize_t k = 0; k < norder; k++) {
        Py_ssize_t id = p->order[k], end = p->filed[id];
        sort_places(plan->grouped + begin, end - begin);
        PyObject *list = PyList_New(end - begin);
        if (list == NULL)
            goto fail;
        for (Py_ssize_t i = begin; i < end; i++) {
            PyObject *place = PyLong_FromUnsignedLongLong(plan->grouped[i]);
            if (place == NULL) {
                Py_DECREF(list);
                goto fail;
            }
            PyList_SET_ITEM(list, i - begin, place);
        }
        int rc = PyDict_SetItem(out, p->names[id], list);
        Py_DECREF(list);
        if (rc < 0)
            goto fail;
        begin = end;
    }
    goto done;
fail:
    Py_CLEAR(out);
done:
    for (Py_ssize_t k = 0; k < norder; k++)
        p->filed[p->order[k]] = 0;
    return out;
}

/* collect(matches, values) -> (cued, by_group, lexical, present), as prescan._collect over the
 * automaton's (key, start, end) matches; values[key] is (cue codes, pattern starts
 * (group, base, need: the pattern's need_of int when it is gated on a required literal, else
 * -1), concept starts (name, index), patterns whose required literal it is (ints of
 * prescan.need_of)). A gated pattern's starts are filed only when some match's key lists its
 * need. Both the pattern and the concept starts come back sorted. */
static PyObject *collect_matches(PyObject *values, Py_ssize_t nmatches, const Py_ssize_t *mkey,
                                 const Py_ssize_t *mstart);

static PyObject *
fastview_collect(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyList_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "collect(matches: list, values: tuple)");
        return NULL;
    }
    PyObject *matches = args[0], *values = args[1];
    Py_ssize_t nmatches = PyList_GET_SIZE(matches);
    Py_ssize_t *mkey = PyMem_Malloc(sizeof(Py_ssize_t) * (2 * nmatches + 1));
    if (mkey == NULL)
        return PyErr_NoMemory();
    Py_ssize_t *mstart = mkey + nmatches;
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < nmatches; i++) {
        PyObject *match = PyList_GET_ITEM(matches, i);
        if (!PyTuple_Check(match) || PyTuple_GET_SIZE(match) < 2) {
            PyErr_SetString(PyExc_TypeError, "a match is (key, start, end)");
            goto done;
        }
        Py_ssize_t key = PyLong_AsSsize_t(PyTuple_GET_ITEM(match, 0));
        if (key == -1 && PyErr_Occurred())
            goto done;
        long long start = PyLong_AsLongLong(PyTuple_GET_ITEM(match, 1));
        if (start == -1 && PyErr_Occurred())
            goto done;
        if (start < 0 || start >= (1LL << 32)) {
            PyErr_SetString(PyExc_ValueError, "a match starts outside 0..2**32");
            goto done;
        }
        mkey[i] = key;
        mstart[i] = (Py_ssize_t)start;
    }
    result = collect_matches(values, nmatches, mkey, mstart);
done:
    PyMem_Free(mkey);
    return result;
}

/* The filing of collect() over matches already read into C: key and start per match. */
static PyObject *
collect_matches(PyObject *values, Py_ssize_t nmatches, const Py_ssize_t *mkey,
                const Py_ssize_t *mstart)
{
    /* The kept plan's scratch serves one call at a time. Making the result's lists and dicts
     * can run a collection, so finalizers (Python code, which may switch threads) and through
     * them another collect() can run in the middle of a call: such a call finds the plan busy
     * and builds a plan of its own for itself, and a busy plan is never replaced or freed. */
    collect_plan *plan = the_plan, *own = NULL;
    if (plan == NULL || plan->busy || plan->values != values) {
        collect_plan *fresh = collect_plan_build(values);
        if (fresh == NULL)
            return NULL;
        if (the_plan != NULL && the_plan->busy) {
            own = plan = fresh;
        }
        else {
            collect_plan_free(the_plan);
            the_plan = plan = fresh;
        }
    }
    plan->busy = 1;
    PyObject *cued = PySet_New(NULL), *present = PySet_New(NULL);
    PyObject *by_group = NULL, *lexical = NULL, *result = NULL;
    Py_ssize_t ngroup_names = 0, nlexical_names = 0;
    if (cued == NULL || present == NULL)
        goto done;
    /* Records: the pattern starts from the front, then the concept starts from `split`. */
    Py_ssize_t ngroup = 0, nlexical = 0;
    for (Py_ssize_t i = 0; i < nmatches; i++) {
        Py_ssize_t key = mkey[i];
        if (key < 0 || key >= plan->nkeys) {
            PyErr_SetString(PyExc_IndexError, "automaton key out of range");
            goto done;
        }
        ngroup += plan->groups.offset[key + 1] - plan->groups.offset[key];
        nlexical += plan->lexical.offset[key + 1] - plan->lexical.offset[key];
    }
    Py_ssize_t split = ngroup;
    if (reserve_records(plan, ngroup + nlexical) < 0)
        goto done;
    ngroup = 0;
    nlexical = 0;
    for (Py_ssize_t i = 0; i < nmatches; i++) {
        Py_ssize_t key = mkey[i];
        uint64_t start = (uint64_t)mstart[i];
        if (plan->cues[key] != NULL && _PySet_Update(cued, plan->cues[key]) < 0)
            goto done;
        name_plan *g = &plan->groups;
        for (Py_ssize_t j = g->offset[key]; j < g->offset[key + 1]; j++) {
            uint32_t id = g->id[j];
            if (g->filed[id]++ == 0)
                g->order[ngroup_names++] = id;
            plan->rec_id[ngroup] = id;
            plan->rec_slot[ngroup] = g->need_slot[j];
            plan->rec_place[ngroup++] = g->base[j] | start;
        }
        name_plan *x = &plan->lexical;
        for (Py_ssize_t j = x->offset[key]; j < x->offset[key + 1]; j++) {
            uint32_t id = x->id[j];
            if (x->filed[id]++ == 0)
                x->order[nlexical_names++] = id;
            plan->rec_id[split + nlexical] = id;
            /* prescan.ALTERNATIVE_SHIFT */
            plan->rec_place[split + nlexical++] = start << 16 | x->base[j];
        }
        PyObject *needs = plan->needs[key];
        if (needs != NULL) {
            for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(needs); j++)
                if (PySet_Add(present, PyTuple_GET_ITEM(needs, j)) < 0)
                    goto done;
            for (Py_ssize_t j = plan->need_offset[key]; j < plan->need_offset[key + 1]; j++)
                plan->slot_on[plan->key_slot[j]] = 1;
        }
    }
    /* A gated pattern whose required literal did not occur cannot match (hits._hits skips
     * it): its starts are not filed, and a group left with none gets no list. */
    Py_ssize_t kept = 0;
    for (Py_ssize_t r = 0; r < split; r++) {
        int32_t slot = plan->rec_slot[r];
        if (slot >= 0 && !plan->slot_on[slot]) {
            plan->groups.filed[plan->rec_id[r]]--;
            continue;
        }
        plan->rec_id[kept] = plan->rec_id[r];
        plan->rec_place[kept++] = plan->rec_place[r];
    }
    if (kept < split) {
        Py_ssize_t names = 0;
        for (Py_ssize_t k = 0; k < ngroup_names; k++)
            if (plan->groups.filed[plan->groups.order[k]] > 0)
                plan->groups.order[names++] = plan->groups.order[k];
        ngroup_names = names;
    }
    by_group = places_by_name(plan, &plan->groups, 0, kept, ngroup_names);
    ngroup_names = 0;
    if (by_group == NULL)
        goto done;
    lexical = places_by_name(plan, &plan->lexical, split, split + nlexical, nlexical_names);
    nlexical_names = 0;
    if (lexical == NULL)
        goto done;
    result = PyTuple_Pack(4, cued, by_group, lexical, present);
done:
    /* On an error part way, the scratch counts go back to zero for the next call. */
    for (Py_ssize_t k = 0; k < ngroup_names; k++)
        plan->groups.filed[plan->groups.order[k]] = 0;
    for (Py_ssize_t k = 0; k < nlexical_names; k++)
        plan->lexical.filed[plan->lexical.order[k]] = 0;
    memset(plan->slot_on, 0, (size_t)plan->nslots);
    plan->busy = 0;
    collect_plan_free(own);
    Py_XDECREF(cued);
    Py_XDECREF(by_group);
    Py_XDECREF(lexical);
    Py_XDECREF(present);
    return result;
}

/* The scan's Aho-Corasick automaton over code points (prescan.automaton, whose
 * ahocorasick-rs matcher stays the reference): automaton(keys) builds it once per process
 * into a capsule, scan_collect(text, automaton, values) runs it over the compact view's own
 * characters and files every occurrence, overlapping ones included, straight into collect()'s
 * plan: no UTF-8 copy of the text, no (key, start, end) tuple per match. */
#define AC_CAPSULE "kefu.compliance._fastview.automaton"

typedef struct {
    uint64_t edge; /* (state + 1) << 21 | code point; 0: empty slot */
    uint32_t to;
    uint32_t unused;
} ac_slot;

typedef struct {
    Py_ssize_t nstates;
    uint64_t mask;
    ac_slot *slots;
    uint32_t *fail;  /* longest proper suffix that is a state */
    uint32_t *out;   /* nearest state on the fail chain (this one included) ending a key; 0: none */
    uint32_t *next_out; /* out[fail[state]]: the next key ending on the same chain */
    int32_t *key;    /* the key ending at this state, or -1 */
    uint32_t *depth; /* characters from the root */
} ac_automaton;

static inline uint64_t
ac_hash(uint64_t edge)
{
    edge *= 0x9E3779B97F4A7C15ull;
    return edge ^ (edge >> 29);
}

static inline int64_t
ac_goto(const ac_automaton *a, uint32_t state, Py_UCS4 c)
{
    uint64_t edge = ((uint64_t)state + 1) << 21 | c;
    for (uint64_t i = ac_hash(edge) & a->mask;; i = (i + 1) & a->mask) {
        const ac_slot *slot = &a->slots[i];
        if (slot->edge == edge)
            return slot->to;
        if (slot->edge == 0)
            return -1;
    }
}

static void
ac_free(ac_automaton *a)
{
    if (a == NULL)
        return;
    PyMem_Free(a->slots);
    PyMem_Free(a->fail);
    PyMem_Free(a->out);
    PyMem_Free(a->next_out);
    PyMem_Free(a->key);
    PyMem_Free(a->depth);
    PyMem_Free(a);
}

static void
ac_capsule_free(PyObject *capsule)
{
    ac_free(PyCapsule_GetPointer(capsule, AC_CAPSULE));
}

/* automaton(keys) -> capsule; keys a tuple of distinct non-empty strs, a match's key is its
 * index there (ahocorasick_rs.AhoCorasick(keys)'s numbering). */
static PyObject *
fastview_automaton(PyObject *module, PyObject *keys)
{
    (void)module;
    if (!PyTuple_Check(keys)) {
        PyErr_SetString(PyExc_TypeError, "automaton(keys: tuple[str, ...])");
        return NULL;
    }
    Py_ssize_t nkeys = PyTuple_GET_SIZE(keys), total = 1;
    for (Py_ssize_t k = 0; k < nkeys; k++) {
        PyObject *key = PyTuple_GET_ITEM(keys, k);
        if (!PyUnicode_Check(key) || PyUnicode_GET_LENGTH(key) == 0) {
            PyErr_SetString(PyExc_ValueError, "an automaton key is a non-empty str");
            return NULL;
        }
        total += PyUnicode_GET_LENGTH(key);
    }
    if (total >= (1LL << 31) || nkeys >= (1LL << 31)) {
        PyErr_SetString(PyExc_ValueError, "too many keys for the automaton");
        return NULL;
    }
    uint64_t nslots = 16;
    while (nslots < (uint64_t)total * 2)
        nslots <<= 1;
    ac_automaton *a = PyMem_Calloc(1, sizeof(ac_automaton));
    /* Per state while building: first child and next sibling, for the breadth-first pass. */
    uint32_t *child = NULL, *sibling = NULL, *queue = NULL;
    Py_UCS4 *label = NULL;
    if (a == NULL)
        return PyErr_NoMemory();
    a->mask = nslots - 1;
    a->slots = PyMem_Calloc(nslots, sizeof(ac_slot));
    a->fail = PyMem_Calloc(total, sizeof(uint32_t));
    a->out = PyMem_Calloc(total, sizeof(uint32_t));
    a->next_out = PyMem_Calloc(total, sizeof(uint32_t));
    a->key = PyMem_Malloc(total * sizeof(int32_t));
    a->depth = PyMem_Calloc(total, sizeof(uint32_t));
    child = PyMem_Calloc(total, sizeof(uint32_t));
    sibling = PyMem_Calloc(total, sizeof(uint32_t));
    queue = PyMem_Malloc(total * sizeof(uint32_t));
    label = PyMem_Malloc(total * sizeof(Py_UCS4));
    if (a->slots == NULL || a->fail == NULL || a->out == NULL || a->next_out == NULL ||
        a->key == NULL || a->depth == NULL || child == NULL || sibling == NULL ||
        queue == NULL || label == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    a->key[0] = -1;
    a->nstates = 1;
    for (Py_ssize_t k = 0; k < nkeys; k++) {
        PyObject *key = PyTuple_GET_ITEM(keys, k);
        int kind = PyUnicode_KIND(key);
        const void *data = PyUnicode_DATA(key);
        uint32_t state = 0;
        for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(key); i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            int64_t to = ac_goto(a, state, c);
            if (to < 0) {
                uint32_t fresh = (uint32_t)a->nstates++;
                uint64_t edge = ((uint64_t)state + 1) << 21 | c;
                uint64_t j = ac_hash(edge) & a->mask;
                while (a->slots[j].edge != 0)
                    j = (j + 1) & a->mask;
                a->slots[j].edge = edge;
                a->slots[j].to = fresh;
                a->key[fresh] = -1;
                a->depth[fresh] = a->depth[state] + 1;
                label[fresh] = c;
                sibling[fresh] = child[state];
                child[state] = fresh;
                to = fresh;
            }
            state = (uint32_t)to;
        }
        if (a->key[state] != -1) {
            PyErr_SetString(PyExc_ValueError, "an automaton key occurs twice");
            goto fail;
        }
        a->key[state] = (int32_t)k;
    }
    /* Breadth first, so a state's fail target (shallower) is done before it. */
    Py_ssize_t head = 0, tail = 0;
    for (uint32_t v = child[0]; v != 0; v = sibling[v]) {
        a->fail[v] = 0;
        queue[tail++] = v;
    }
    while (head < tail) {
        uint32_t u = queue[head++];
        uint32_t f = a->fail[u];
        a->next_out[u] = a->out[f];
        a->out[u] = a->key[u] >= 0 ? u : a->out[f];
        for (uint32_t v = child[u]; v != 0; v = sibling[v]) {
            uint32_t g = f;
            int64_t to;
            for (;;) {
                to = ac_goto(a, g, label[v]);
                if (to >= 0 || g == 0)
                    break;
                g = a->fail[g];
            }
            a->fail[v] = to >= 0 ? (uint32_t)to : 0;
            queue[tail++] = v;
        }
    }
    PyMem_Free(child);
    PyMem_Free(sibling);
    PyMem_Free(queue);
    PyMem_Free(label);
    PyObject *capsule = PyCapsule_New(a, AC_CAPSULE, ac_capsule_free);
    if (capsule == NULL)
        ac_free(a);
    return capsule;
fail:
    PyMem_Free(child);
    PyMem_Free(sibling);
    PyMem_Free(queue);
    PyMem_Free(label);
    ac_free(a);
    return NULL;
}

/* scan_collect(text, automaton, values) -> collect(matches, values) for the automaton's
 * overlapping matches in text (the same set ahocorasick-rs finds; collect's result does not
 * depend on their order). */
static PyObject *
fastview_scan_collect(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "scan_collect(text: str, automaton, values: tuple)");
        return NULL;
    }
    const ac_automaton *a = PyCapsule_GetPointer(args[1], AC_CAPSULE);
    if (a == NULL)
        return NULL;
    PyObject *text = args[0];
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n >= (1LL << 32)) {
        PyErr_SetString(PyExc_ValueError, "a text of 2**32 characters or more");
        return NULL;
    }
    /* Matches on the stack for a reply; a long text grows them on the heap. Per call, not
     * shared: collect_matches may run Python code (a collection's finalizers) that scans. */
    Py_ssize_t local[2 * 256];
    Py_ssize_t capacity = 256, count = 0;
    Py_ssize_t *mkey = local, *mstart = local + 256, *heap = NULL;
    uint32_t state = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        for (;;) {
            int64_t to = ac_goto(a, state, c);
            if (to >= 0) {
                state = (uint32_t)to;
                break;
            }
            if (state == 0)
                break;
            state = a->fail[state];
        }
        for (uint32_t s = a->out[state]; s != 0; s = a->next_out[s]) {
            if (count == capacity) {
                Py_ssize_t *grown = PyMem_Malloc(sizeof(Py_ssize_t) * 4 * capacity);
                if (grown == NULL) {
                    PyMem_Free(heap);
                    return PyErr_NoMemory();
                }
                memcpy(grown, mkey, sizeof(Py_ssize_t) * count);
                memcpy(grown + 2 * capacity, mstart, sizeof(Py_ssize_t) * count);
                PyMem_Free(heap);
                heap = mkey = grown;
                mstart = grown + 2 * capacity;
                capacity *= 2;
            }
            mkey[count] = a->key[s];
            mstart[count++] = i + 1 - (Py_ssize_t)a->depth[s];
        }
    }
    PyObject *result = collect_matches(args[2], count, mkey, mstart);
    PyMem_Free(heap);
    return result;
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
/* A key is an n-gram's code points as four 16-bit lanes, GRAM_PAD after its end: U+FFFF is a
 * noncharacter, so "a" and "a" + padding stay apart from every real n-gram. A table whose
 * n-grams hold U+FFFF or a character above it cannot be keyed so (ngram_table gives None and
 * the Python sums run); in a text, an n-gram holding one is not in the table. */
#define GRAM_PAD 0xFFFFu
#define TABLE_CAPSULE "kefu.compliance._fastview.ngram_table"

typedef struct {
    uint32_t tag;   /* bits of the hash below the slot's: most misses never touch an entry */
    uint32_t entry; /* 1 + index into entries; 0: empty */
} gram_slot;

typedef struct {
    uint64_t key;
    /* The ngram_sums call that last counted this entry: a feature is binary, so an n-gram
     * repeated in one text counts once. Kept in the entry's cache line, which the lookup
     * reads anyway (no per-call "seen" set to clear). */
    uint32_t stamp;
    uint32_t unused;
    double weights[]; /* ncodes: with six codes an entry is one 64-byte line */
} gram_entry;

typedef struct {
    Py_ssize_t ncodes, nentries;
    uint64_t mask; /* nslots - 1 */
    int shift;     /* 64 - log2(nslots): a slot is the hash's top bits */
    uint32_t stamp; /* this call's stamp; entries' stamps are older */
    gram_slot *slots;
    char *entries;
    size_t stride;
} gram_table;

static inline uint64_t
gram_hash(uint64_t key)
{
    /* Fold the high lanes into the low ones, then multiplicative (Fibonacci) hashing: the
     * product's top bits are the slot, the bits below them the tag. */
    return (key ^ key >> 32) * 0x9E3779B97F4A7C15ull;
}

static inline gram_entry *
entry_at(const gram_table *t, Py_ssize_t index)
{
    return (gram_entry *)(t->entries + (size_t)index * t->stride);
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

/* The key of the n-gram of `len` lanes at the start of the 64-bit word `lanes`. */
static inline uint64_t
key_of(uint64_t lanes, Py_ssize_t len)
{
    return len >= GRAM_MAX ? lanes : lanes | ~0ull << (16 * len);
}

/* The entry index of key, or -1. */
static inline Py_ssize_t
gram_find(const gram_table *t, uint64_t key, uint64_t h)
{
    uint32_t tag = tag_of(h);
    for (uint64_t i = slot_of(t, h);; i = (i + 1) & t->mask) {
        const gram_slot *slot = &t->slots[i];
        if (slot->entry == 0)
            return -1;
        if (slot->tag == tag && entry_at(t, slot->entry - 1)->key == key)
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

/* ngram_table(weights: dict[str, tuple[float, ...]], ncodes) -> capsule, or None when an
 * n-gram holds a character at or above U+FFFF (see GRAM_PAD). */
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
    /* An even number of weights (the last one 0.0 when ncodes is odd): ngram_sums adds two
     * codes a step. */
    t->stride = sizeof(gram_entry) + sizeof(double) * (size_t)(ncodes + (ncodes & 1));
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
        Py_ssize_t len = PyUnicode_GET_LENGTH(gram);
        uint64_t lanes = ~0ull;
        int keyable = 1;
        for (Py_ssize_t k = 0; k < len; k++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(gram, k);
            keyable &= c < GRAM_PAD;
            lanes &= ~((uint64_t)GRAM_PAD << (16 * k));
            lanes |= (uint64_t)(c & GRAM_PAD) << (16 * k);
        }
        if (!keyable) {
            Py_DECREF(seq);
            PyMem_RawFree(t->slots);
            PyMem_RawFree(t->entries);
            PyMem_RawFree(t);
            Py_RETURN_NONE;
        }
        gram_entry *entry = entry_at(t, index);
        entry->key = lanes;
        for (Py_ssize_t c = 0; c < ncodes; c++) {
            entry->weights[c] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, c));
            if (entry->weights[c] == -1.0 && PyErr_Occurred()) {
                Py_DECREF(seq);
                goto fail;
            }
        }
        Py_DECREF(seq);
        uint64_t h = gram_hash(lanes);
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
 * turn; three passes over the text's n-grams let the loads overlap: key every n-gram and
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
    gram_table *t = PyCapsule_GetPointer(args[1], TABLE_CAPSULE);
    if (t == NULL)
        return NULL;
    PyObject *text = args[0];
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    /* Per n-gram in (start, length) order (k = start * GRAM_MAX + length - 1): its key, then
     * its candidate entry (-1: none). A reply of a few hundred characters stays on the stack. */
    enum { LOCAL_GRAMS = 1024 };
    uint64_t local_keys[LOCAL_GRAMS];
    int32_t local_entry[LOCAL_GRAMS];
    /* The text's code points as lanes, GRAM_PAD past its end (and for a character that no key
     * holds): keys without a branch per length. */
    uint16_t local_lanes[LOCAL_GRAMS / GRAM_MAX + GRAM_MAX];
    Py_ssize_t ngrams = n * GRAM_MAX;
    uint64_t *keys = local_keys;
    int32_t *entries = local_entry;
    uint16_t *lanes = local_lanes;
    if (ngrams > LOCAL_GRAMS) {
        keys = PyMem_Malloc(sizeof(uint64_t) * ngrams);
        entries = PyMem_Malloc(sizeof(int32_t) * ngrams);
        lanes = PyMem_Malloc(sizeof(uint16_t) * (n + GRAM_MAX));
        if (keys == NULL || entries == NULL || lanes == NULL) {
            PyMem_Free(keys);
            PyMem_Free(entries);
            PyMem_Free(lanes);
            return PyErr_NoMemory();
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        lanes[i] = c < GRAM_PAD ? (uint16_t)c : (uint16_t)GRAM_PAD;
    }
    for (Py_ssize_t i = n; i < n + GRAM_MAX; i++)
        lanes[i] = (uint16_t)GRAM_PAD;
    /* A new stamp for this call; when the counter wraps, every entry's is cleared. */
    if (++t->stamp == 0) {
        for (Py_ssize_t e = 0; e < t->nentries; e++)
            entry_at(t, e)->stamp = 0;
        t->stamp = 1;
    }
    const uint32_t stamp = t->stamp;
    /* Pass 1: key each n-gram and prefetch its slot. An n-gram running past the text's end or
     * over a character no key holds (a GRAM_PAD lane) is in no table. */
    for (Py_ssize_t start = 0; start < n; start++) {
        const uint16_t *c = lanes + start;
        uint64_t word = (uint64_t)c[0] | (uint64_t)c[1] << 16 | (uint64_t)c[2] << 32 |
                        (uint64_t)c[3] << 48;
        for (Py_ssize_t len = 1; len <= GRAM_MAX; len++) {
            Py_ssize_t k = start * GRAM_MAX + len - 1;
            if (c[len - 1] == GRAM_PAD) {
                for (; len <= GRAM_MAX; len++)
                    entries[start * GRAM_MAX + len - 1] = -1;
                break;
            }
            uint64_t key = key_of(word, len);
            keys[k] = key;
            entries[k] = 0;
            __builtin_prefetch(&t->slots[slot_of(t, gram_hash(key))]);
        }
    }
    /* Pass 2: the first slot whose tag matches (a key compare in pass 3 confirms it). */
    for (Py_ssize_t k = 0; k < ngrams; k++) {
        if (entries[k] < 0)
            continue;
        uint64_t h = gram_hash(keys[k]);
        uint32_t tag = tag_of(h);
        int32_t candidate = -1;
        for (uint64_t i = slot_of(t, h);; i = (i + 1) & t->mask) {
            const gram_slot *slot = &t->slots[i];
            if (slot->entry == 0)
                break;
            if (slot->tag == tag) {
                candidate = (int32_t)slot->entry - 1;
                __builtin_prefetch(entry_at(t, candidate));
                break;
            }
        }
        entries[k] = candidate;
    }
    /* Pass 3: in the reference's order, confirm, skip repeats and add. */
    double sums[CODES_MAX];
    Py_ssize_t ncodes = t->ncodes, lanes_of_sums = ncodes + (ncodes & 1);
    for (Py_ssize_t c = 0; c < lanes_of_sums; c++)
        sums[c] = 0.0;
    Py_ssize_t found = 0;
    for (Py_ssize_t k = 0; k < ngrams; k++) {
        if (entries[k] < 0)
            continue;
        uint64_t key = keys[k];
        gram_entry *entry = entry_at(t, entries[k]);
        if (entry->key != key) {
            /* Two n-grams with one tag (rare): the whole probe decides. */
            Py_ssize_t index = gram_find(t, key, gram_hash(key));
            if (index < 0)
                continue;
            entry = entry_at(t, index);
        }
        if (entry->stamp == stamp)
            continue;
        entry->stamp = stamp;
        found++;
        /* Two codes a step (the table pads its weights to an even count with zeros): the
         * compiler adds each pair in one instruction, each code still its own sum in the
         * reference's order. */
        const double *w = entry->weights;
        for (Py_ssize_t c = 0; c < lanes_of_sums; c += 2) {
            sums[c] += w[c];
            sums[c + 1] += w[c + 1];
        }
    }
    if (keys != local_keys) {
        PyMem_Free(keys);
        PyMem_Free(entries);
        PyMem_Free(lanes);
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

/* clause_start(text, start) -> where the clause holding offset start begins: just after the
 * last clause stop (sentences._CLAUSE_END) before start, else 0; as sentences._clause_start.
 * A walk back over one clause instead of a cached list of every stop in the text, a call of
 * its cache and a bisection (decisions §106). */
static PyObject *
fastview_clause_start(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "clause_start(text: str, start: int)");
        return NULL;
    }
    PyObject *text = args[0];
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (start > n)
        start = n;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = start - 1; i >= 0; i--) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == 0x3002 /* 。 */ || c == '!' || c == '?' || c == ';' || c == '\n' || c == ',')
            return PyLong_FromSsize_t(i + 1);
    }
    return PyLong_FromLong(0);
}

/* frozen(cls, names, *values) -> object.__new__(cls), then object.__setattr__(obj, name,
 * value) for each name and value: what a frozen dataclass's generated __init__ does, without
 * its interpreted frame and five calls through a wrapper descriptor (scanner._new_verdict;
 * decisions §106). */
static PyObject *
fastview_frozen(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs < 2 || !PyType_Check(args[0]) || !PyTuple_Check(args[1]) ||
        PyTuple_GET_SIZE(args[1]) != nargs - 2) {
        PyErr_SetString(PyExc_TypeError, "frozen(cls: type, names: tuple, *values)");
        return NULL;
    }
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        return NULL;
    PyObject *obj = PyBaseObject_Type.tp_new((PyTypeObject *)args[0], empty, NULL);
    Py_DECREF(empty);
    if (obj == NULL)
        return NULL;
    PyObject *names = args[1];
    for (Py_ssize_t i = 0; i < nargs - 2; i++) {
        if (PyObject_GenericSetAttr(obj, PyTuple_GET_ITEM(names, i), args[i + 2]) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    return obj;
}

static PyMethodDef fastview_methods[] = {
    {"clause_start", (PyCFunction)(void (*)(void))fastview_clause_start, METH_FASTCALL,
     "clause_start(text, start) -> where the clause holding start begins, as "
     "sentences._clause_start"},
    {"frozen", (PyCFunction)(void (*)(void))fastview_frozen, METH_FASTCALL,
     "frozen(cls, names, *values) -> object.__new__(cls) with object.__setattr__ per name"},
    {"ngram_table", (PyCFunction)(void (*)(void))fastview_ngram_table, METH_FASTCALL,
     "ngram_table(weights, ncodes) -> the model's weights as a hash table (a capsule) or None"},
    {"ngram_sums", (PyCFunction)(void (*)(void))fastview_ngram_sums, METH_FASTCALL,
     "ngram_sums(text, table) -> the weight sum per code or None, as model._sums"},
    {"automaton", (PyCFunction)fastview_automaton, METH_O,
     "automaton(keys) -> the scan's Aho-Corasick automaton over code points (a capsule)"},
    {"scan_collect", (PyCFunction)(void (*)(void))fastview_scan_collect, METH_FASTCALL,
     "scan_collect(text, automaton, values) -> collect() of the automaton's matches in text"},
    {"collect", (PyCFunction)(void (*)(void))fastview_collect, METH_FASTCALL,
     "collect(matches, values) -> (cued, by_group, lexical, present), as prescan._collect"},
    {"sentences", (PyCFunction)fastview_sentences, METH_O,
     "sentences(text) -> [(start, end)], as sentences.split_sentences"},
    {"scripts", (PyCFunction)fastview_scripts, METH_O,
     "scripts(text) -> 1 (CJK) | 2 (Latin) | 4 (a decimal digit) | 8 (seven or more) | 16 (a "
     "street word after a space), as sentences.scripts_and_digit"},
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
    PyObject *module = PyModule_Create(&fastview_module);
    if (module == NULL)
        return NULL;
    PyObject *words = street_words_tuple();
    if (words == NULL || PyModule_AddObject(module, "STREET_WORDS", words) < 0) {
        Py_XDECREF(words);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
