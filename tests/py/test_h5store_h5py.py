"""h5py reads what data/h5store.c writes: every element type and shape, variable-length UTF-8 strings,
scalar attributes and a deflate-compressed dataset.  The file comes from `$DUO_BUILD/tests/test_h5store
--write PATH`; the expected values are recomputed here from the same formulas (see write_fixture)."""
import os
import subprocess
import sys
import tempfile

NAME = "test_h5store_h5py"


def main():
    build = os.environ.get("DUO_BUILD", "build")
    writer = os.path.join(build, "tests", "test_h5store")
    try:
        import h5py
        import numpy as np
    except ImportError as e:
        print(f"SKIP: {NAME}/read_c_file ({e})")
        return 0
    if not os.access(writer, os.X_OK):
        print(f"SKIP: {NAME}/read_c_file ({writer} not built)")
        return 0
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        path = os.path.join(tmp, "from_c.h5")
        run = subprocess.run([writer, "--write", path], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL: {NAME}/read_c_file (writer failed: {run.stderr.strip()})")
            return 1
        failures = []

        def check(cond, what):
            if not cond:
                failures.append(what)

        with h5py.File(path, "r") as f:
            i = np.arange(10)
            check(f["ints/i32"].dtype == np.int32, "ints/i32 dtype")
            check(np.array_equal(f["ints/i32"][()], i * 7 - 3), "ints/i32 values")
            i64 = f["ints/i64"]
            check(i64.dtype == np.int64 and i64.shape == (3, 4), "ints/i64 dtype/shape")
            check(np.array_equal(i64[()], (np.int64(1) << 40) + np.arange(12).reshape(3, 4)), "ints/i64 values")
            f32 = f["state/f32"]
            check(f32.dtype == np.float32 and f32.shape == (2, 3, 4), "state/f32 dtype/shape")
            check(np.array_equal(f32[()], (0.5 * np.arange(24, dtype=np.float32)).reshape(2, 3, 4)), "state/f32 values")
            g = f["state/gates"]
            check(g.dtype == np.float64 and g.shape == (4, 2), "state/gates dtype/shape")
            check(np.array_equal(g[()], (1.0 / (np.arange(8) + 1)).reshape(4, 2)), "state/gates values")
            check(g.attrs["units"] == "gate", "state/gates units attribute")
            b = f["bytes"]
            check(b.dtype == np.uint8 and np.array_equal(b[()], np.arange(256, dtype=np.uint8)), "bytes")
            s = f["scalar"]
            check(s.shape == () and s[()] == 2.5, "scalar")
            loss = f["log/loss"]
            check(loss.compression == "gzip" and loss.chunks is not None, f"log/loss compression {loss.compression}")
            want = np.sin(np.arange(1000 * 50) * 0.01).astype(np.float32).reshape(1000, 50)
            # C computes sin in double then rounds to float, as numpy does here: exact equality.
            check(np.array_equal(loss[()], want), "log/loss values")
            names = [x.decode("utf-8") for x in f["names"][()]]
            check(names == ["alpha", "\u03b2eta", "", "emoji \U0001F642"], f"names {names!r}")
            check(h5py.check_string_dtype(f["names"].dtype).encoding == "utf-8", "names encoding")
            check(int(f.attrs["step"]) == 1234 and f.attrs["step"].dtype == np.int64, "step attribute")
            check(float(f.attrs["lr"]) == 2e-3, "lr attribute")
            check(f.attrs["model"] == "tiny-llama \u00fcn\u00ef", f"model attribute {f.attrs['model']!r}")
        if failures:
            print(f"FAIL: {NAME}/read_c_file ({'; '.join(failures)})")
            return 1
        print(f"PASS: {NAME}/read_c_file")

        # The other way: h5py writes what h5py users write (fixed-length strings and string
        # attributes, numpy integer widths, gzip chunks) and the C reader checks it.
        path = os.path.join(tmp, "from_h5py.h5")
        with h5py.File(path, "w") as f:
            f["fixed_names"] = np.array([b"alpha", b"be", b""], dtype="S5")
            f.create_dataset("vlen_names", data=["x", "\u00ff"], dtype=h5py.string_dtype("utf-8"))
            f.attrs["count"] = np.int32(7)
            f.attrs["label"] = np.bytes_(b"fixed")
            f.attrs["title"] = "vlen \u00fc"
            f["m"] = np.arange(6, dtype=np.float32).reshape(2, 3)
            f.create_dataset("chunked", data=3 * np.arange(1000, dtype=np.int64), compression="gzip", chunks=(128,))
            f["u16"] = np.array([0, 1, 2, 65535], dtype=np.uint16)
        run = subprocess.run([writer, "--check-h5py", path], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL: {NAME}/c_reads_h5py_file ({run.stderr.strip()})")
            return 1
        print(f"PASS: {NAME}/c_reads_h5py_file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
