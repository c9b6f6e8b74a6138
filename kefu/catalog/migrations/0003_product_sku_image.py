from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_product_facts"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="sku",
            field=models.CharField(blank=True, max_length=80, verbose_name="SKU / 商家编码"),
        ),
        migrations.AddField(
            model_name="product",
            name="image_url",
            field=models.URLField(blank=True, max_length=500, verbose_name="main image"),
        ),
        migrations.AddField(
            model_name="product",
            name="free_shipping_excluded_regions",
            field=models.JSONField(
                blank=True, default=list, verbose_name="regions excluded from free shipping"
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["shop", "sku"], name="product_sku"),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["shop", "title"], name="product_title"),
        ),
    ]
