from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_import_run_ignored_columns_warnings"),
        ("catalog", "0003_product_sku_image"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderitem",
            name="sku",
            field=models.CharField(blank=True, max_length=80),
        ),
    ]
